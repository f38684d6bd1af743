"""What one generator process records: the timeline so far and finished ledger lines.

The process sends what it holds with each Locust worker report (:meth:`Recorder.drain`) and the
rest when the run ends; after :meth:`Recorder.close` nothing more is recorded, so every process
stops counting at the same moment the run's files are cut.
"""

from __future__ import annotations

import json
import math
from typing import Any

from locustfiles.form_record import FormRecord
from rundir.timeline import Timeline


class Recorder:
    """Per-process recording; the clock is set when the run's clock start is known."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.clock_start: float | None = None
        self.speedup = 1.0
        self.timeline = Timeline()
        # Lines kept as JSON text: one object each, not dozens for the collector to walk.
        self.ledger: list[str] = []
        self.closed = False

    def start(self, clock_start: float, speedup: float) -> None:
        self.clock_start = clock_start
        self.speedup = speedup

    def second(self, moment: float) -> int:
        """The timeline second of a real UNIX time."""
        return math.floor(moment - (self.clock_start or 0.0))

    def request(
        self, endpoint: str, finished_at: float, latency_ms: float, failure: str | None
    ) -> None:
        """One request finished (``failure`` None) or failed with ``failure``'s kind."""
        if self.closed or self.clock_start is None:
            return
        self.timeline.record_request(self.second(finished_at), endpoint, latency_ms, failure)

    def form_started(self, record: FormRecord) -> None:
        slip = record.slip
        if self.closed or record.started_at is None or slip is None:
            return
        self.timeline.record_start(self.second(record.started_at), slip * 1000.0)

    def form_finished(self, record: FormRecord, at: float) -> None:
        """Add the form's ledger line (and its outcome to the timeline)."""
        if self.closed:
            return
        record.ended_at = at
        self.timeline.record_outcome(self.second(at), record.final_outcome)
        line = record.to_json(self.clock_start or 0.0, self.speedup)
        self.ledger.append(json.dumps(line, separators=(",", ":")))

    def drain(self) -> dict[str, Any]:
        """Everything recorded since the last drain, as a message-safe payload.

        ``{"timeline": Timeline.to_json(), "ledger": [ledger line as JSON text, ...]}``
        """
        payload = {"timeline": self.timeline.to_json(), "ledger": self.ledger}
        self.timeline = Timeline()
        self.ledger = []
        return payload

    def close(self) -> None:
        self.closed = True
