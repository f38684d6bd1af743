"""A deployment's instances and its load balancer, from the run directory alone.

``server_metrics.jsonl`` has one line per instance and scrape (``"instance": name``) when the
target was a deployment; ``haproxy.jsonl`` has HAProxy's view of each instance once a second.
From them: requests each instance served per second, its 503s and peak in-flight, and when the
balancer had it out (DOWN), for the report's table and its two charts.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Series = tuple[list[float], list[float]]  # simulated seconds, values


def _total(samples: Mapping[str, float], prefix: str) -> float:
    return sum(value for key, value in samples.items() if key.startswith(prefix))


def _sim(line: Mapping[str, Any], start: float, speedup: float) -> float:
    return (float(line["t"]) - start) * speedup


def by_instance(lines: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The successful scrapes of each instance, in order (empty for a single target)."""
    found: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for line in lines:
        if line.get("ok") and line.get("instance"):
            found[str(line["instance"])].append(line)
    return dict(found)


def served_per_second(
    lines: Sequence[Mapping[str, Any]], start: float, speedup: float
) -> tuple[Series, Series]:
    """Requests served and 503s per real second between scrapes, on the simulated clock."""
    t: list[float] = []
    served: list[float] = []
    shed: list[float] = []
    for before, after in itertools.pairwise(lines):
        real = float(after["t"]) - float(before["t"])
        if real <= 0:
            continue
        done = _total(after["samples"], "sirekap_requests_total") - _total(
            before["samples"], "sirekap_requests_total"
        )
        refused = _total(after["samples"], "sirekap_rejections_total") - _total(
            before["samples"], "sirekap_rejections_total"
        )
        t.append(_sim(after, start, speedup))
        served.append(max(0.0, done) / real)  # a restarted instance starts its counters at 0
        shed.append(max(0.0, refused) / real)
    return (t, served), (t, shed)


def balancer_states(
    lines: Iterable[Mapping[str, Any]], start: float, speedup: float
) -> dict[str, Series]:
    """Each instance 1 (up) or 0 (down or unknown to HAProxy) per second, on the simulated clock."""
    states: dict[str, Series] = defaultdict(lambda: ([], []))
    for line in lines:
        servers = line.get("servers") or {}
        for name, state in servers.items():
            t, up = states[name]
            t.append(_sim(line, start, speedup))
            up.append(1.0 if state == "UP" else 0.0)
    return dict(states)


@dataclass(frozen=True)
class InstanceFigures:
    name: str
    served: int  # requests the instance answered over the run
    shed: int  # of them 503 by admission control
    in_flight_peak: float | None
    down_sim_s: float  # simulated seconds HAProxy had it out
    restarts: int  # times its counters went back (a kill and restart)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "served": self.served,
            "shed": self.shed,
            "in_flight_peak": self.in_flight_peak,
            "down_sim_s": round(self.down_sim_s, 1),
            "restarts": self.restarts,
        }


def _counted(lines: Sequence[Mapping[str, Any]], prefix: str) -> tuple[int, int]:
    """The counter's total over the run, across restarts; and how many restarts it saw."""
    total, restarts, previous = 0.0, 0, 0.0
    for line in lines:
        value = _total(line["samples"], prefix)
        if value < previous:
            restarts += 1
            total += value
        else:
            total += value - previous
        previous = value
    return round(total), restarts


def instance_figures(
    metrics: Iterable[Mapping[str, Any]],
    balancer: Mapping[str, Series],
) -> list[InstanceFigures]:
    found = []
    for name, lines in sorted(by_instance(metrics).items()):
        served, restarts = _counted(lines, "sirekap_requests_total")
        shed, _ = _counted(lines, "sirekap_rejections_total")
        peaks = [line["samples"].get("sirekap_in_flight_requests") for line in lines]
        known = [float(p) for p in peaks if p is not None]
        t, up = balancer.get(name, ([], []))
        step = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else 0.0
        found.append(
            InstanceFigures(
                name, served, shed, max(known) if known else None, step * up.count(0.0), restarts
            )
        )
    return found


def deployment_instances(inputs: Any) -> list[InstanceFigures]:
    """The instances of a run against a deployment (empty for one mock or a remote target)."""
    clock = inputs.record.get("clock") or {}
    if clock.get("start") is None:
        return []
    states = balancer_states(inputs.balancer, inputs.clock_start, inputs.speedup)
    return instance_figures(inputs.server_metrics, states)


def summed_rounds(lines: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """One line per scrape round: a deployment's instances added up (a round ends where an
    instance comes again); a single target's lines as they are."""
    if not any(line.get("instance") for line in lines):
        return list(lines)
    rounds: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in lines:
        name = str(line.get("instance"))
        if not rounds or name in seen:
            rounds.append({"t": line["t"], "ok": True, "samples": {}})
            seen = set()
        seen.add(name)
        total = rounds[-1]["samples"]
        for key, value in line["samples"].items():
            total[key] = total.get(key, 0.0) + value
    return rounds
