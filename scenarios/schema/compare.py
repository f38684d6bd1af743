"""``[compare]``: how far a figure may move against a baseline before the move is a change.

    [compare]
    "page.p95" = "+10%"           # may be up to 10% slower than the baseline
    "completion.final" = "-1pt"   # may end up to 1 percentage point lower
    "result.*" = "+50ms"          # a glob over figure names
    "integrity.lost" = "0"        # must not move at all

A figure is named as in an SLO, without the comparison (scenarios/schema/slo.py). A tolerance is
``<number>%`` (of the baseline's value), ``<number>pt`` (percentage points, ratios only), a
duration with a unit (durations only) or a bare number (counts and numbers; a ratio as a
fraction). A sign is optional; written, it must be the figure's worse direction: ``+`` for a figure
where lower is better (latency, errors, recovery times), ``-`` where higher is better (completion,
success, throughput). A move within the tolerance is "unchanged"; beyond it, "regressed" or
"improved". Durations of recovery and completion are on the simulated clock, latencies on the
real one, as in the SLOs.
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass
from typing import Final, Literal

from scenarios.schema.slo import (
    ANALYSIS_METRICS,
    ENDPOINT_METRICS,
    ENDPOINT_SCOPES,
    Kind,
    SloSyntaxError,
    parse_metric,
)
from scenarios.schema.units import parse_duration

Better = Literal["lower", "higher", "either"]

# metric -> the direction that is better; every other metric is better lower
HIGHER_IS_BETTER: Final = frozenset(
    {"success_ratio", "final", "by", "tps_per_day", "tps_per_hour", "gaveled", "acknowledged"}
    | {"detection_ratio", "misreads_caught_arithmetic", "misreads_caught_plenary", "knee_rps"}
    | {"replayed_share"}
)
# what the load or the scenario sets rather than the target's quality: shown, never judged
EITHER: Final = frozenset({"rate", "requests", "misreads_injected", "share"})

TOLERANCE_HELP: Final = (
    "a tolerance like '+10%' (of the baseline), '-1pt' (points of a ratio), '+50ms' (a "
    "duration), '2' (a count or number) or '0' (must not move)"
)
_TOLERANCE = re.compile(r"^\s*(?P<sign>[+-]?)\s*(?P<body>\S.*?)\s*$")
_NUMBER = re.compile(r"\d+(?:\.\d+)?", re.ASCII)  # ASCII digits only
MAX_TOLERANCE: Final = 1e9  # in the tolerance's own unit: beyond it, a typo (or an overflow)


def better(metric: str) -> Better:
    """Which way of ``metric`` (``p95``, ``final``...) is better."""
    if metric in EITHER:
        return "either"
    return "higher" if metric in HIGHER_IS_BETTER else "lower"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """The move a figure may make and stay unchanged: the larger of ``relative`` (a fraction of
    the baseline's value) and ``absolute`` (in the figure's unit: seconds, a fraction, a count);
    ``real_s``, for the defaults of simulated-clock durations, is a floor in real seconds (the
    analysis resolves one real second, which is ``speedup`` simulated ones)."""

    relative: float = 0.0
    absolute: float = 0.0
    real_s: float = 0.0
    text: str = "0"

    def allowed(self, base: float, speedup: float = 1.0) -> float:
        scaled = abs(base) * self.relative if math.isfinite(base) else 0.0
        return max(scaled, self.absolute, self.real_s * speedup)


def parse_tolerance(text: str, kind: Kind, metric: str, name: str | None = None) -> Tolerance:
    """``text`` as the tolerance of a figure of ``kind`` and ``metric``; ValueError says what is
    wrong and what is valid (naming the figure ``name``, or ``metric``)."""
    label = name or metric
    match = _TOLERANCE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{label}: {text!r} is not {TOLERANCE_HELP}")
    sign, body = match["sign"], match["body"]
    way = better(metric)
    wrong = {"lower": "-", "higher": "+"}.get(way)
    if sign and sign == wrong:
        right = "+" if wrong == "-" else "-"
        worse = "higher" if right == "+" else "lower"
        raise ValueError(
            f"{label}: {text!r} allows a move the wrong way; {label} is worse {worse}, so write "
            f"'{right}{body}'"
        )
    shown = text.strip()
    number = _NUMBER.search(body)
    if number is not None and not float(number.group()) <= MAX_TOLERANCE:
        given = text if len(text) <= 40 else f"{text[:37]}..."
        raise ValueError(f"{label}: {given!r} is more than any figure can move: {TOLERANCE_HELP}")
    if body.endswith("%") and _NUMBER.fullmatch(body[:-1].strip()):
        return Tolerance(relative=float(body[:-1]) / 100, text=shown)
    if body.endswith("pt") and _NUMBER.fullmatch(body[:-2].strip()):
        if kind != "ratio":
            raise ValueError(f"{label}: 'pt' is for ratios; {label} is a {kind}: {TOLERANCE_HELP}")
        return Tolerance(absolute=float(body[:-2]) / 100, text=shown)
    if _NUMBER.fullmatch(body):
        value = float(body)
        if kind == "duration" and value != 0:
            raise ValueError(f"{label}: {text!r} has no unit; {label} is a duration, like '+50ms'")
        if kind == "ratio" and value > 1:
            raise ValueError(f"{label}: {text!r} is more than a whole ratio; write it as '1pt'")
        return Tolerance(absolute=value, text=shown)
    if kind == "duration":
        try:
            return Tolerance(absolute=parse_duration(body), text=shown)
        except ValueError:
            pass
    raise ValueError(f"{label}: {text!r} is not {TOLERANCE_HELP}")


def metric_names() -> list[tuple[str, Kind]]:
    """Every ``scope.metric`` a figure can be named by (without arguments), with its kind."""
    names: list[tuple[str, Kind]] = [
        (f"{scope}.{metric}", kind)
        for scope in ENDPOINT_SCOPES
        for metric, kind in ENDPOINT_METRICS.items()
    ]
    names += [
        (f"{scope}.{metric}", kind)
        for scope, metrics in ANALYSIS_METRICS.items()
        for metric, (kind, _) in metrics.items()
    ]
    return names


def is_glob(key: str) -> bool:
    return any(c in key for c in "*?[")


def check_tolerance(key: str, text: str) -> None:
    """A ``[compare]`` entry as written; ValueError says what is wrong and what is valid. A glob
    must match some figure, and its tolerance must suit every figure it matches."""
    if not is_glob(key):
        try:
            slo = parse_metric(key)
        except SloSyntaxError as error:
            raise ValueError(error.reason) from None
        parse_tolerance(text, slo.kind, slo.metric, key)
        return
    matched = [(name, kind) for name, kind in metric_names() if fnmatch.fnmatchcase(name, key)]
    if not matched:
        raise ValueError(
            f"{key!r} matches no figure; figures are named like page.p95, upload.error_ratio, "
            "completion.final, recovery.time_to_recover"
        )
    for name, kind in matched:
        parse_tolerance(text, kind, name.split(".", 1)[1], f"{name} (by {key!r})")


def canonical_key(written: str) -> str | None:
    """A figure's name as written (quotes, spaces) in the form the figures use; None if none."""
    try:
        key: str = parse_metric(written).key
    except SloSyntaxError:
        return None
    return key


def tolerance_for(
    key: str, kind: Kind, metric: str, given: dict[str, str]
) -> tuple[Tolerance, str] | None:
    """The tolerance ``given`` sets for figure ``key`` (its exact name first, then the last glob
    that matches the name with or without its arguments) and the entry that set it; None if none."""
    if key in given:
        return parse_tolerance(given[key], kind, metric, key), key
    for written, text in given.items():  # the same figure spelled otherwise ("..." quotes)
        if not is_glob(written) and canonical_key(written) == key:
            return parse_tolerance(text, kind, metric, key), written
    bare = key.split("(", 1)[0]
    for pattern in reversed(list(given)):
        if is_glob(pattern) and (
            fnmatch.fnmatchcase(key, pattern) or fnmatch.fnmatchcase(bare, pattern)
        ):
            return parse_tolerance(given[pattern], kind, metric, key), pattern
    if bare != key and bare in given:
        return parse_tolerance(given[bare], kind, metric, key), bare
    return None
