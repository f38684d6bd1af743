"""A small valid scenario to start from, and shortcuts for building variants of it."""

from __future__ import annotations

from pathlib import Path

from scenarios import Scenario, loads_scenario

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "scenarios"

MINIMAL = """\
name = "mini"

[clock]
start = "2024-02-14 13:00"
zone = "WITA"
duration = "13h"
speedup = 260

[population]
scale = "regions"
seed = 7

[[population.regions]]
code = "5103051004"
name = "Benoa"
tps = 20
"""


def scenario(extra: str = "", base: str = MINIMAL, source: str = "mini.toml") -> Scenario:
    """The minimal scenario with ``extra`` TOML appended."""
    return loads_scenario(base + extra, source)
