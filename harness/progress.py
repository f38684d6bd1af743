"""Live progress of a run: simulated clock, TPS ready / acknowledged / total, rate, errors, faults.

On a terminal it is a live panel (rich); otherwise one plain line every few seconds, for CI logs.
Figures come from the load generator's ``progress.json`` (rundir.progress, written every second
by the master) and, for what the target itself says, from the last scrape of its ``/metrics``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from scenarios import Scenario, format_duration

PLAIN_EVERY_S = 5.0


@dataclass
class Snapshot:
    sim_local: str
    real_elapsed: float
    real_total: float
    tps_ready: int | None  # None until the generator's first figures
    tps_total: int | None
    acked: int | None
    rate: float | None  # requests per real second
    errors: dict[str, int]  # totals since the start, by kind
    faults: Sequence[str]
    final: bool = False  # the generator's final figures, after the run

    @property
    def shown_tps(self) -> str:
        return f"{_shown(self.tps_ready)}/{_shown(self.tps_total)}"

    @property
    def shown_acked(self) -> str:
        return _shown(self.acked)

    @property
    def shown_errors(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "none"

    @property
    def shown_left(self) -> str:
        return format_duration(max(0.0, self.real_total - self.real_elapsed))

    def line(self) -> str:
        if self.final:
            return (
                f"[{self.sim_local}] final: TPS ready {self.shown_tps}, "
                f"acknowledged {self.shown_acked}; errors (total): {self.shown_errors}"
            )
        rate = "-" if self.rate is None else f"{self.rate:.0f}/s"
        return (
            f"[{self.sim_local}] TPS ready {self.shown_tps}, acknowledged "
            f"{self.shown_acked}; requests {rate} (last second); errors so far: "
            f"{self.shown_errors}; faults: {', '.join(self.faults) or 'none'}; "
            f"{self.shown_left} left"
        )

    def table(self) -> Table:
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_row(
            "simulated clock", self.sim_local + ("  (final figures)" if self.final else "")
        )
        table.add_row(
            "TPS ready / acknowledged / total",
            f"{_shown(self.tps_ready)} / {self.shown_acked} / {_shown(self.tps_total)}",
        )
        if not self.final:
            rate = "-" if self.rate is None else f"{self.rate:.0f} per second"
            table.add_row("requests (last second)", rate)
        table.add_row(
            "errors by kind (total)" if self.final else "errors by kind (so far)", self.shown_errors
        )
        if not self.final:
            table.add_row("active faults", ", ".join(self.faults) or "none")
            table.add_row("time left (real)", self.shown_left)
        return table


def _shown(count: int | None) -> str:
    return "?" if count is None else str(count)


class ProgressView:
    """Shows snapshots: a live panel on a terminal, plain lines otherwise."""

    def __init__(self, title: str, snapshot: Callable[[], Snapshot], plain: bool | None = None):
        self.title = title
        self.snapshot = snapshot
        self.plain = not sys.stdout.isatty() if plain is None else plain
        self._live: Live | None = None
        self._last_plain = 0.0

    def __enter__(self) -> ProgressView:
        if not self.plain:
            self._live = Live(console=Console(), refresh_per_second=2, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def update(self) -> None:
        self.show(self.snapshot())

    def show(self, snapshot: Snapshot) -> None:
        """Draw ``snapshot`` now; a final one is always printed, also in plain mode."""
        if self._live is not None:
            table = snapshot.table()
            table.title = self.title
            self._live.update(table, refresh=True)
        elif snapshot.final or time.monotonic() - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = time.monotonic()
            print(snapshot.line(), flush=True)


def live_snapshot(
    scenario: Scenario, clock_start: float, progress: dict[str, Any],
    scraped: dict[str, float], faults: list[str],
) -> Snapshot:  # fmt: skip
    """A frame of the run: the generator's live figures (the target's stored count until the
    generator says its own), on both clocks."""
    now = time.time()
    sim = (now - clock_start) * scenario.clock.speedup
    acked = progress.get("acked")
    if acked is None and "sirekap_results_stored_total" in scraped:
        acked = int(scraped["sirekap_results_stored_total"])
    return Snapshot(
        sim_local=scenario.clock.local(max(0.0, sim)),
        real_elapsed=max(0.0, now - clock_start),
        real_total=scenario.clock.real_duration,
        tps_ready=progress.get("tps_ready"),
        tps_total=progress.get("tps_total"),
        acked=acked,
        rate=progress.get("rate"),
        errors=progress.get("failures", {}),
        faults=[*faults, *lost_workers(progress)],
    )


def lost_workers(progress: dict[str, Any]) -> list[str]:
    """The generator processes lost mid-run, named where the eye already is (beside the faults)."""
    return [
        f"GENERATOR LOST: process {w['index']} ({w['host']}, pid {w['pid']})"
        for w in progress.get("workers") or ()
        if w.get("lost")
    ]


def final_snapshot(scenario: Scenario, last: Snapshot, summary: dict[str, Any]) -> Snapshot:
    """The last frame: the generator's final figures (load_summary.json) once it wrote them."""
    forms = summary.get("forms") or {}
    total = (summary.get("requests") or {}).get("total") or {}
    ran = float((summary.get("run") or {}).get("sim_s") or 0.0)
    # every TPS of the run has a form ready within it: a run that reached its end saw them all
    # ready (the last frame's count can be a second old)
    whole = ran >= scenario.clock.duration and last.tps_total is not None
    return Snapshot(
        sim_local=scenario.clock.local(max(0.0, ran)),
        real_elapsed=last.real_total,
        real_total=last.real_total,
        tps_ready=last.tps_total if whole else last.tps_ready,
        tps_total=last.tps_total,
        acked=(forms.get("final") or {}).get("acked", last.acked),
        rate=None,
        errors=total.get("failures", last.errors),
        faults=[],
        final=True,
    )
