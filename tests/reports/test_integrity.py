"""The integrity audit finds lost, corrupt, duplicate and ambiguous results, and nothing else."""

from __future__ import annotations

from typing import Any

from reports.integrity import READ_BACK_AUDIT, Ack, acked_numbers, audit, audit_reads


def _row(tps: str, sha: str, receipt: str, revision: int = 1) -> dict[str, Any]:
    return {
        "kind": "result", "tps_code": tps, "election": "ppwp", "revision": revision,
        "content_sha256": sha, "receipt_id": receipt,
    }  # fmt: skip


def test_a_clean_run_has_no_findings() -> None:
    acks = [Ack("A", "ppwp", "r1", "s1"), Ack("B", "ppwp", "r2", "s2")]
    report = audit(acks, [_row("A", "s1", "r1"), _row("B", "s2", "r2")])
    assert report.as_dict() == {
        "acknowledged": 2, "lost": 0, "duplicate": 0, "corrupt": 0, "ambiguous": 0,
        "examples": {}, "method": "export", "read": 0, "unread": 0, "unseen": [],
        "cross_check": None,
    }  # fmt: skip
    assert report.clean


def test_each_kind_of_finding_is_counted_with_examples() -> None:
    acks = [
        Ack("LOST", "ppwp", "r1", "s1"),
        Ack("CORRUPT", "ppwp", "r2", "s2"),
        Ack("DUP", "ppwp", "r3", "s3"),
    ]
    stored = [
        _row("CORRUPT", "changed", "r2"),
        _row("DUP", "s3", "r3"),
        _row("DUP", "s3", "r3b"),  # the same revision stored twice
        _row("TIMEDOUT", "s9", "r9"),  # committed, but the device never saw the receipt
    ]
    report = audit(acks, stored)
    assert (report.lost, report.corrupt, report.duplicate, report.ambiguous) == (1, 1, 1, 1)
    assert report.examples == {
        "lost": ("LOST",), "corrupt": ("CORRUPT",), "duplicate": ("DUP",),
        "ambiguous": ("TIMEDOUT",),
    }  # fmt: skip
    assert not report.clean


def test_a_replay_acknowledged_under_another_receipt_is_not_lost() -> None:
    """A device that lost its receipt and resubmitted the same content: the content is there."""
    report = audit([Ack("A", "ppwp", "r-other", "s1")], [_row("A", "s1", "r1")])
    assert report.lost == 0 and report.ambiguous == 0


def test_a_later_correction_does_not_make_the_first_acknowledgement_lost() -> None:
    acks = [Ack("A", "ppwp", "r1", "s1"), Ack("A", "ppwp", "r2", "s2")]
    report = audit(acks, [_row("A", "s1", "r1"), _row("A", "s2", "r2", revision=2)])
    assert report.clean and report.ambiguous == 0


# -- the read-back audit -------------------------------------------------------------------------


def _acked(code: str, revision: int | None, digest: str) -> dict[str, object]:
    return {
        "tps_code": code, "election": "ppwp", "final_outcome": "acked", "revision": revision,
        "result_sha256": digest,
    }  # fmt: skip


def _read(code: str, found: bool | None, digest: str | None = None, revision: int | None = None):  # type: ignore[no-untyped-def]
    return {
        "tps_code": code, "election": "ppwp", "found": found, "result_sha256": digest,
        "revision": revision,
    }  # fmt: skip


def test_a_read_back_finds_lost_changed_and_ambiguous_forms_by_their_numbers() -> None:
    ledger = [
        _acked("A", 1, "a1"),  # read as acknowledged
        _acked("B", 1, "b1"),  # read empty: lost
        _acked("C", 1, "c1"), _acked("C", 2, "c2"),  # read shows revision 1 only: lost
        _acked("D", 1, "d1"),  # other numbers: changed
        _acked("E", 1, "e1"),  # a newer revision nobody saw acknowledged: ambiguous
        {"tps_code": "F", "election": "ppwp", "final_outcome": "abandoned", "revision": None,
         "result_sha256": None},  # stored though never acknowledged: ambiguous
        _acked("G", None, "g1"),  # the read failed: nothing claimed
    ]  # fmt: skip
    plenary = [
        {"tps_code": "A", "election": "ppwp",
         "corrections": [{"outcome": "refused", "revision": 2, "result_sha256": "zz"}]},
    ]  # fmt: skip
    reads = [
        _read("A", True, "a1", 1), _read("B", False), _read("C", True, "c1", 1),
        _read("D", True, "dX", 1), _read("E", True, "eX", 2), _read("F", True, "f1", 1),
        _read("G", None),
    ]  # fmt: skip
    report = audit_reads(acked_numbers(ledger, plenary), reads)
    assert (report.lost, report.corrupt, report.ambiguous) == (2, 1, 2)
    assert report.examples == {"lost": ("B", "C"), "corrupt": ("D",), "ambiguous": ("E", "F")}
    assert (report.acknowledged, report.read, report.unread) == (6, 7, 1)
    assert report.method == READ_BACK_AUDIT and report.duplicate == 0
    assert "a read-back cannot see duplicate" in (report.unmeasured("duplicate") or "")
    assert report.unmeasured("lost") == (
        "1 of 7 forms could not be read back, so nothing is claimed of them"
    )
    assert report.unmeasured("acknowledged") is None
    whole = audit_reads(
        acked_numbers(ledger, plenary), [r for r in reads if r["found"] is not None]
    )
    assert whole.unmeasured("lost") is None
    assert "reading back 6 forms" in whole.described()


def test_a_plenary_correction_is_the_latest_acknowledged_revision() -> None:
    ledger = [_acked("A", 1, "misread")]
    plenary = [
        {"tps_code": "A", "election": "ppwp",
         "corrections": [{"outcome": "acked", "revision": 2, "result_sha256": "truth"}]},
    ]  # fmt: skip
    numbers = acked_numbers(ledger, plenary)
    assert audit_reads(numbers, [_read("A", True, "truth", 2)]).clean
    assert audit_reads(numbers, [_read("A", True, "misread", 1)]).lost == 1
