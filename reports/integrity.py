"""The integrity audit: what devices were told was stored, against what the target stored.

Acknowledged means durable (README, "Storage: acknowledged means durable"). For every result the
load generator saw acknowledged (a receipt and a content hash), the target's export must hold
exactly that content:

- lost: acknowledged, but the export has no result for that TPS and election, or not that one;
- corrupt: the export holds the acknowledged receipt with a different content hash;
- duplicate: the export holds the same revision of a TPS and election more than once;
- ambiguous: the export holds a result that no device saw acknowledged (e.g. a timeout after
  the commit): not a fault, but counted, because the manual recap must reconcile it.

Without an export (a service whose admin API the run cannot use), :func:`audit_reads` audits what
the public read API shows after the load (readback.jsonl), form by form, by the numbers
(``rundir.ledger.result_digest``) so any API in KPU's per-TPS shape can be audited:

- lost: a form acknowledged but read back empty, or showing only an older acknowledged revision;
- corrupt (changed): a form read back with numbers no acknowledgement of it carried;
- ambiguous: numbers on a form no device saw acknowledged, or a newer revision than any
  acknowledged one (when the API tells revisions);
- duplicate: not visible to a read, which shows one result per form (``unseen``);
- unread: forms whose read failed: nothing is claimed of them, so lost, corrupt and ambiguous
  are not measured while any acknowledged form is unread.
With an export, a sample read back the same way is a cross-check of the read path.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from rundir.readback import form_key

EXPORT_AUDIT: Final = "export"
READ_BACK_AUDIT: Final = "read-back"


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledged result as the device saw it."""

    tps_code: str
    election: str
    receipt_id: str
    content_sha256: str


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    acknowledged: int
    lost: int
    duplicate: int
    corrupt: int
    ambiguous: int
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    method: str = EXPORT_AUDIT  # EXPORT_AUDIT or READ_BACK_AUDIT
    read: int = 0  # forms read back
    unread: int = 0  # of them, reads that failed
    unseen: tuple[str, ...] = ()  # metrics this audit cannot see
    cross_check: IntegrityReport | None = None  # a sample read back, beside an export audit

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicate == 0 and self.corrupt == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "lost": self.lost,
            "duplicate": self.duplicate,
            "corrupt": self.corrupt,
            "ambiguous": self.ambiguous,
            "examples": {kind: list(codes) for kind, codes in self.examples.items()},
            "method": self.method,
            "read": self.read,
            "unread": self.unread,
            "unseen": list(self.unseen),
            "cross_check": None if self.cross_check is None else self.cross_check.as_dict(),
        }

    def described(self) -> str:
        """Which audit ran and what it could not see, in a sentence."""
        if self.method == EXPORT_AUDIT:
            text = "audited against the target's export"
            check = self.cross_check
            if check is not None:
                bad = check.lost + check.corrupt
                text += (
                    f"; a sample of {check.read} forms read back through the public read API "
                    + (f"disagrees with what was acknowledged for {bad}" if bad else "agrees")
                )
                if check.unread:
                    text += f" ({check.unread} reads failed)"
            return text
        text = (
            f"audited by reading back {self.read} forms through the public read API (no export: "
            "no admin token); duplicates are not visible to a read"
        )
        return text + (f"; {self.unread} reads failed" if self.unread else "")

    def unmeasured(self, metric: str) -> str | None:
        """Why this audit cannot give ``metric`` (None: it can)."""
        if metric in self.unseen:
            return (
                f"a read-back cannot see {metric} results (a read shows one result per form); "
                "only the target's export can (its admin token)"
            )
        if self.unread and metric != "acknowledged":
            return (
                f"{self.unread} of {self.read} forms could not be read back, so nothing is "
                "claimed of them"
            )
        return None


def read_export(path: Path) -> list[dict[str, Any]]:
    """The export's result rows (pages are listed too but audited through their result)."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                if row.get("kind", "result") == "result":
                    rows.append(row)
    return rows


def audit(
    acks: Iterable[Ack], stored: Iterable[Mapping[str, Any]], keep: int = 5
) -> IntegrityReport:
    """Compare acknowledgements with stored results; ``keep`` example TPS codes per finding."""
    by_receipt: dict[str, Mapping[str, Any]] = {}
    by_form: dict[tuple[str, str], set[str]] = {}
    revisions: Counter[tuple[str, str, int]] = Counter()
    for row in stored:
        by_receipt[row["receipt_id"]] = row
        by_form.setdefault((row["tps_code"], row["election"]), set()).add(row["content_sha256"])
        revisions[(row["tps_code"], row["election"], int(row.get("revision", 1)))] += 1
    examples: dict[str, list[str]] = {"lost": [], "corrupt": [], "duplicate": [], "ambiguous": []}
    counts = Counter[str]()
    acked_receipts: set[str] = set()
    acked_content: set[tuple[str, str, str]] = set()
    acknowledged = 0
    for ack in acks:
        acknowledged += 1
        acked_receipts.add(ack.receipt_id)
        acked_content.add((ack.tps_code, ack.election, ack.content_sha256))
        found = by_receipt.get(ack.receipt_id)
        if found is not None and found["content_sha256"] != ack.content_sha256:
            _note(counts, examples, "corrupt", ack.tps_code, keep)
        elif found is None and ack.content_sha256 not in by_form.get(
            (ack.tps_code, ack.election), ()
        ):
            _note(counts, examples, "lost", ack.tps_code, keep)
    for (tps, _election, _revision), times in revisions.items():
        if times > 1:
            _note(counts, examples, "duplicate", tps, keep, times - 1)
    for row in by_receipt.values():
        seen = (row["tps_code"], row["election"], row["content_sha256"]) in acked_content
        if row["receipt_id"] not in acked_receipts and not seen:
            _note(counts, examples, "ambiguous", row["tps_code"], keep)
    return IntegrityReport(
        acknowledged,
        counts["lost"],
        counts["duplicate"],
        counts["corrupt"],
        counts["ambiguous"],
        {kind: tuple(codes) for kind, codes in examples.items() if codes},
    )


def _note(
    counts: Counter[str], examples: dict[str, list[str]], kind: str, tps: str, keep: int, n: int = 1
) -> None:
    counts[kind] += n
    if len(examples[kind]) < keep:
        examples[kind].append(tps)


def acked_numbers(
    ledger: Iterable[Mapping[str, Any]], plenary: Iterable[Mapping[str, Any]] = ()
) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """Per form, every acknowledged (revision, result digest): the devices' and the plenary's
    corrections; revision 0 where the service did not say."""
    found: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for line in ledger:
        if line.get("final_outcome") == "acked" and line.get("result_sha256"):
            found.setdefault(form_key(line), []).append(
                (int(line.get("revision") or 0), line["result_sha256"])
            )
    for line in plenary:
        for fix in line.get("corrections") or ():
            if fix.get("outcome") == "acked" and fix.get("result_sha256"):
                found.setdefault(form_key(line), []).append(
                    (int(fix.get("revision") or 0), fix["result_sha256"])
                )
    return found


def audit_reads(
    acked: Mapping[tuple[str, str], list[tuple[int, str]]],
    reads: Iterable[Mapping[str, Any]],
    keep: int = 5,
) -> IntegrityReport:
    """What the read API showed against what was acknowledged (the module's doc)."""
    examples: dict[str, list[str]] = {"lost": [], "corrupt": [], "ambiguous": []}
    counts = Counter[str]()
    read = unread = acknowledged = 0
    for line in reads:
        read += 1
        key = form_key(line)
        versions = acked.get(key, [])
        acknowledged += bool(versions)
        if line.get("found") is None:
            unread += 1
            continue
        if not line["found"]:
            if versions:
                _note(counts, examples, "lost", key[0], keep)
            continue
        digest = line.get("result_sha256")
        if not versions:
            _note(counts, examples, "ambiguous", key[0], keep)
            continue
        newest = max(revision for revision, _ in versions)
        latest = {d for revision, d in versions if revision == newest}
        if digest in latest:
            continue
        if digest in {d for _, d in versions}:
            _note(counts, examples, "lost", key[0], keep)  # a later acknowledged one is gone
        elif isinstance(line.get("revision"), int) and line["revision"] > newest > 0:
            _note(counts, examples, "ambiguous", key[0], keep)  # newer than any acknowledged
        else:
            _note(counts, examples, "corrupt", key[0], keep)
    return IntegrityReport(
        acknowledged, counts["lost"], 0, counts["corrupt"], counts["ambiguous"],
        {kind: tuple(codes) for kind, codes in examples.items() if codes},
        method=READ_BACK_AUDIT, read=read, unread=unread, unseen=("duplicate",),
    )  # fmt: skip
