"""The integrity audit: what devices were told was stored, against what the target stored.

Acknowledged means durable (README, "Storage: acknowledged means durable"). For every result the
load generator saw acknowledged (a receipt and a content hash), the target's export must hold
exactly that content:

- lost: acknowledged, but the export has no result for that TPS and election, or not that one;
- corrupt: the export holds the acknowledged receipt with a different content hash;
- duplicate: the export holds the same revision of a TPS and election more than once;
- ambiguous: the export holds a result that no device saw acknowledged (e.g. a timeout after
  the commit): not a fault, but counted, because the manual recap must reconcile it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
        }


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
