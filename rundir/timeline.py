"""The per-second timeline: requests per endpoint and form events, mergeable across processes.

Seconds are whole real seconds since the clock start (``second = floor(t - clock_start)``); a
request counts in the second it finished. Each cell adds up, so a worker can send what it has
so far and the master adds it to what it already holds.

Lines of ``timeline.jsonl`` (sorted by second, requests before forms, endpoints in API order)::

    {"kind": "requests", "second": 12, "t": 1732755612.0, "sim_s": 8640.0, "endpoint": "page",
     "count": 10, "ok": 9, "failures": {"5xx:503": 1},
     "latency_ok": <histogram>, "latency_failed": <histogram>}
    {"kind": "forms", "second": 12, "t": ..., "sim_s": ..., "started": 3, "acked": 2,
     "abandoned": 0, "rejected": 0, "slip": <histogram of start slip>}

``t`` is the real UNIX time the second starts, ``sim_s`` the simulated offset it maps to;
histograms are :mod:`rundir.histogram` JSON, in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from rundir.endpoints import DEVICE
from rundir.histogram import Histogram

ENDPOINTS: Final = DEVICE
OUTCOMES: Final = ("acked", "abandoned", "rejected")


class RequestCell:
    """Requests of one endpoint that finished in one second."""

    __slots__ = ("count", "failed_latency", "failures", "ok", "ok_latency")

    def __init__(self) -> None:
        self.count = 0
        self.ok = 0
        self.failures: dict[str, int] = {}
        self.ok_latency = Histogram()
        self.failed_latency = Histogram()

    def record(self, latency_ms: float, failure: str | None) -> None:
        self.count += 1
        if failure is None:
            self.ok += 1
            self.ok_latency.record(latency_ms)
        else:
            self.failures[failure] = self.failures.get(failure, 0) + 1
            self.failed_latency.record(latency_ms)

    def merge(self, other: RequestCell) -> None:
        self.count += other.count
        self.ok += other.ok
        for kind, count in other.failures.items():
            self.failures[kind] = self.failures.get(kind, 0) + count
        self.ok_latency.merge(other.ok_latency)
        self.failed_latency.merge(other.failed_latency)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "ok": self.ok,
            "failures": dict(sorted(self.failures.items())),
            "latency_ok": self.ok_latency.to_json(),
            "latency_failed": self.failed_latency.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RequestCell:
        cell = cls()
        cell.count = int(data["count"])
        cell.ok = int(data["ok"])
        cell.failures = {str(kind): int(count) for kind, count in data["failures"].items()}
        cell.ok_latency = Histogram.from_json(data["latency_ok"])
        cell.failed_latency = Histogram.from_json(data["latency_failed"])
        return cell


class FormCell:
    """Forms that started or reached an outcome in one second."""

    __slots__ = ("outcomes", "slip", "started")

    def __init__(self) -> None:
        self.started = 0
        self.outcomes: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.slip = Histogram()

    def merge(self, other: FormCell) -> None:
        self.started += other.started
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count
        self.slip.merge(other.slip)

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started, **self.outcomes, "slip": self.slip.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FormCell:
        cell = cls()
        cell.started = int(data["started"])
        cell.outcomes = {outcome: int(data.get(outcome, 0)) for outcome in OUTCOMES}
        cell.slip = Histogram.from_json(data["slip"])
        return cell


class Timeline:
    """Request and form cells by second, and their running totals (every second added up, kept
    as cells are recorded or merged: live figures cost nothing however long the run)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[int, str], RequestCell] = {}
        self.forms: dict[int, FormCell] = {}
        self._endpoint_totals: dict[str, RequestCell] = {}
        self.form_totals = FormCell()  # every second's forms added up (read, never change it)

    def _total(self, endpoint: str) -> RequestCell:
        total = self._endpoint_totals.get(endpoint)
        if total is None:
            total = self._endpoint_totals[endpoint] = RequestCell()
        return total

    def record_request(
        self, second: int, endpoint: str, latency_ms: float, failure: str | None
    ) -> None:
        key = (second, endpoint)
        cell = self.requests.get(key)
        if cell is None:
            cell = self.requests[key] = RequestCell()
        cell.record(latency_ms, failure)
        self._total(endpoint).record(latency_ms, failure)

    def _form(self, second: int) -> FormCell:
        cell = self.forms.get(second)
        if cell is None:
            cell = self.forms[second] = FormCell()
        return cell

    def record_start(self, second: int, slip_ms: float) -> None:
        for cell in (self._form(second), self.form_totals):
            cell.started += 1
            cell.slip.record(max(0.0, slip_ms))

    def record_outcome(self, second: int, outcome: str) -> None:
        if outcome in OUTCOMES:
            self._form(second).outcomes[outcome] += 1
            self.form_totals.outcomes[outcome] += 1

    def to_json(self) -> dict[str, Any]:
        """A message-safe payload (string keys only) that :meth:`merge_json` adds back."""
        return {
            "requests": [
                [second, endpoint, cell.to_json()]
                for (second, endpoint), cell in self.requests.items()
            ],
            "forms": [[second, cell.to_json()] for second, cell in self.forms.items()],
        }

    def merge_json(self, payload: Mapping[str, Any]) -> None:
        for second, endpoint, data in payload["requests"]:
            incoming = RequestCell.from_json(data)
            self._total(str(endpoint)).merge(incoming)
            existing = self.requests.get((int(second), str(endpoint)))
            if existing is None:
                self.requests[(int(second), str(endpoint))] = incoming
            else:
                existing.merge(incoming)
        for second, data in payload["forms"]:
            incoming_forms = FormCell.from_json(data)
            self._form(int(second)).merge(incoming_forms)
            self.form_totals.merge(incoming_forms)

    def lines(self, clock_start: float, speedup: float) -> Iterator[dict[str, Any]]:
        """The ``timeline.jsonl`` lines, sorted by second."""
        order = {endpoint: position for position, endpoint in enumerate(ENDPOINTS)}
        seconds = sorted({second for second, _ in self.requests} | set(self.forms))
        by_second: dict[int, list[str]] = {}
        for second, endpoint in self.requests:
            by_second.setdefault(second, []).append(endpoint)
        for second in seconds:
            stamp = {"second": second, "t": clock_start + second, "sim_s": second * speedup}
            for endpoint in sorted(by_second.get(second, []), key=lambda e: order.get(e, 99)):
                cell = self.requests[(second, endpoint)]
                yield {"kind": "requests", **stamp, "endpoint": endpoint, **cell.to_json()}
            if second in self.forms:
                yield {"kind": "forms", **stamp, **self.forms[second].to_json()}

    def endpoint_totals(self) -> dict[str, RequestCell]:
        """Every second added up, per endpoint (API order): copies of the running totals."""
        order = {endpoint: position for position, endpoint in enumerate(ENDPOINTS)}
        totals: dict[str, RequestCell] = {}
        for endpoint in sorted(self._endpoint_totals, key=lambda name: order.get(name, 99)):
            totals[endpoint] = RequestCell()
            totals[endpoint].merge(self._endpoint_totals[endpoint])
        return totals
