"""The integrity audit finds lost, corrupt, duplicate and ambiguous results, and nothing else."""

from __future__ import annotations

from typing import Any

from reports.integrity import Ack, audit


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
        "examples": {},
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
