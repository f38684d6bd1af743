"""SLO expressions: a small language in the spirit of k6 thresholds.

    <scope>.<metric>[(<args>)] <op> <value>

    result.p95 < 2s                       page.success_ratio >= 0.999
    upload.error_ratio < 1%               recovery.max_time_to_recover < 30m
    integrity.lost == 0                   completion.by('+1d 06:00') >= 0.95
    throughput.tps_per_day >= 20          recovery.time_to_recover('server down') < 1h
    plenary.tps_per_day >= 20             quality.misreads_undetected == 0

Scopes are the endpoints (``session``, ``page``, ``result``, ``read``; ``upload`` = session, page
and result together; ``all``) and the analyses (``recovery``, ``integrity``, ``completion``,
``throughput``, ``load``, ``plenary``, ``quality``, ``plan``). Each metric has a kind, and the
value must be of that kind: a duration with a unit (``150ms``, ``2s``, ``30m``), a ratio
(``0.999`` or ``99.9%``), a count or a number. Latencies are on the real clock; recovery, drain,
completion and gavel times on the simulated one.

This module only parses and checks expressions (so a bad one is a scenario error naming it and
what is valid); the report evaluates them against a run.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from rundir import endpoints
from scenarios.schema.units import TimeSpec, parse_duration, parse_time_spec

Kind = Literal["duration", "ratio", "count", "number"]

ENDPOINT_SCOPES: Final = (*endpoints.DEVICE, "upload", "all")
ENDPOINT_METRICS: Final[dict[str, Kind]] = {
    "p50": "duration",
    "p90": "duration",
    "p95": "duration",
    "p99": "duration",
    "p999": "duration",
    "max": "duration",
    "mean": "duration",
    "success_ratio": "ratio",
    "error_ratio": "ratio",
    "requests": "count",
    "failures": "count",
    "rate": "number",
}
# scope -> metric -> (kind, number of arguments)
ANALYSIS_METRICS: Final[dict[str, dict[str, tuple[Kind, int]]]] = {
    "recovery": {
        "max_time_to_recover": ("duration", 0),
        "max_time_to_first_success": ("duration", 0),
        "max_drain_time": ("duration", 0),
        "max_backlog": ("count", 0),
        "max_retry_amplification": ("number", 0),
        "outages": ("count", 0),
        "time_to_recover": ("duration", 1),
        "time_to_first_success": ("duration", 1),
        "drain_time": ("duration", 1),
        "backlog_peak": ("count", 1),
    },
    "integrity": {
        "lost": ("count", 0),
        "duplicate": ("count", 0),
        "corrupt": ("count", 0),
        "ambiguous": ("count", 0),
        "acknowledged": ("count", 0),
    },
    "completion": {"final": ("ratio", 0), "by": ("ratio", 1)},
    "throughput": {"tps_per_day": ("number", 0), "tps_per_hour": ("number", 0)},
    "load": {"slip_p99": ("duration", 0), "abandoned": ("count", 0)},
    "plenary": {
        "tps_per_day": ("number", 0),
        "gaveled": ("count", 0),
        "open": ("count", 0),
        "discrepancies": ("count", 0),
        "refused": ("count", 0),
        "gavel_time_p50": ("duration", 0),
        "gavel_time_p90": ("duration", 0),
        "gavel_time_max": ("duration", 0),
    },
    "quality": {
        "misreads_injected": ("count", 0),
        "misreads_caught_arithmetic": ("count", 0),
        "misreads_caught_plenary": ("count", 0),
        "misreads_undetected": ("count", 0),
        "detection_ratio": ("ratio", 0),
    },
    # a hindcast ([hindcast]): the replay's national share of TPS with data at a published
    # moment (WIB), and its distance from the published share in percentage points
    "hindcast": {
        "share": ("ratio", 1),
        "residual": ("number", 1),
        "max_residual_fitted": ("number", 0),
        "max_residual_held_out": ("number", 0),
    },
    "plan": {
        "instances_for": ("count", 2),
        "instances_for_faults": ("count", 2),
        "knee_rps": ("number", 0),
        # with `plan --verify`: the share of the TPS ready by the deadline that the replay at
        # the recommended count took in by then (the worst zone's deadline)
        "replayed_share": ("ratio", 2),
    },
}
OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}

_EXPRESSION = re.compile(
    r"^\s*(?P<scope>[a-z_]+)\.(?P<metric>[a-z0-9_]+)"
    r"(?:\((?P<args>[^()]*)\))?\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>\S+)\s*$"
)
_ARG = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)")\s*""")
SYNTAX_HELP: Final = (
    'write <scope>.<metric> <op> <value>, e.g. "result.p95 < 2s", '
    '"integrity.lost == 0", "completion.by(\'+1d 06:00\') >= 0.95"'
)


class SloSyntaxError(ValueError):
    """An SLO expression that cannot be used; the message names it and what is valid."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"{expression!r}: {reason}")
        self.expression = expression
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Slo:
    """One parsed SLO. ``threshold`` is in seconds for durations and a fraction for ratios."""

    expression: str
    scope: str
    metric: str
    args: tuple[str, ...]
    op: str
    threshold: float
    kind: Kind
    abort_on_fail: bool = False

    @property
    def key(self) -> str:
        """The metric as written, without the comparison: ``completion.by('+1d 06:00')``."""
        args = f"({', '.join(repr(arg) for arg in self.args)})" if self.args else ""
        return f"{self.scope}.{self.metric}{args}"

    def holds(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.threshold)


def parse_slo(expression: str, *, abort_on_fail: bool = False) -> Slo:
    """Parse and check one expression; SloSyntaxError says what is wrong and what is valid."""
    match = _EXPRESSION.match(expression)
    if match is None:
        raise SloSyntaxError(expression, f"not an SLO expression; {SYNTAX_HELP}")
    scope, metric = match["scope"], match["metric"]
    args = _parse_args(expression, match["args"])
    kind = _metric_kind(expression, scope, metric, args)
    threshold = _parse_value(expression, match["value"], kind)
    return Slo(expression.strip(), scope, metric, args, match["op"], threshold, kind, abort_on_fail)


_METRIC = re.compile(r"^\s*(?P<scope>[a-z_]+)\.(?P<metric>[a-z0-9_]+)(?:\((?P<args>[^()]*)\))?\s*$")
METRIC_HELP: Final = (
    "write <scope>.<metric>, e.g. page.p95, completion.final, "
    "recovery.time_to_recover('short outage')"
)


def parse_metric(text: str) -> Slo:
    """A metric named without a comparison (``page.p95``, ``recovery.time_to_recover('x')``),
    as an Slo that compares nothing (``==`` NaN): how a comparison of runs names its figures."""
    match = _METRIC.match(text)
    if match is None:
        raise SloSyntaxError(text, f"not a metric; {METRIC_HELP}")
    args = _parse_args(text, match["args"])
    kind = _metric_kind(text, match["scope"], match["metric"], args)
    return Slo(text.strip(), match["scope"], match["metric"], args, "==", math.nan, kind)


def _parse_args(expression: str, text: str | None) -> tuple[str, ...]:
    if text is None or not text.strip():
        return ()
    args = []
    for part in text.split(","):
        quoted = _ARG.fullmatch(part)
        if quoted is None:
            raise SloSyntaxError(
                expression, f"argument {part.strip()!r} must be quoted, like '+1d 06:00'"
            )
        args.append(quoted[1] if quoted[1] is not None else quoted[2])
    return tuple(args)


def _metric_kind(expression: str, scope: str, metric: str, args: tuple[str, ...]) -> Kind:
    if scope in ENDPOINT_SCOPES:
        if metric not in ENDPOINT_METRICS:
            valid = ", ".join(ENDPOINT_METRICS)
            raise SloSyntaxError(expression, f"unknown metric {metric!r}; valid: {valid}")
        if args:
            raise SloSyntaxError(expression, f"{scope}.{metric} takes no arguments")
        return ENDPOINT_METRICS[metric]
    metrics = ANALYSIS_METRICS.get(scope)
    if metrics is None:
        valid = ", ".join((*ENDPOINT_SCOPES, *ANALYSIS_METRICS))
        raise SloSyntaxError(expression, f"unknown scope {scope!r}; valid scopes: {valid}")
    if metric not in metrics:
        valid = ", ".join(metrics)
        raise SloSyntaxError(
            expression, f"unknown metric {scope}.{metric}; valid for {scope}: {valid}"
        )
    kind, arity = metrics[metric]
    if len(args) != arity:
        wanted = "no arguments" if arity == 0 else f"{arity} quoted argument(s)"
        raise SloSyntaxError(expression, f"{scope}.{metric} takes {wanted}")
    return kind


def _parse_value(expression: str, text: str, kind: Kind) -> float:
    try:
        if kind == "duration":
            return parse_duration(text)
        if kind == "ratio" and text.endswith("%"):
            return float(text[:-1]) / 100
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value):  # not a number at all
        wanted = {
            "duration": "a duration with a unit, like 150ms, 2s or 30m",
            "ratio": "a ratio like 0.999 or 99.9%",
            "count": "a whole number",
            "number": "a number",
        }[kind]
        raise SloSyntaxError(expression, f"{text!r} is not {wanted}")
    if kind == "ratio" and not 0 <= value <= 1:
        raise SloSyntaxError(expression, "a ratio is between 0 and 1 (or 0% and 100%)")
    if kind == "count" and not value.is_integer():
        raise SloSyntaxError(expression, f"{text!r} is not a whole number")
    return value


_DAY_PREFIX = re.compile(r"^\s*D(\d+)\s+(.*)$")
PLAN_ARGS_HELP: Final = (
    "plan.instances_for takes a share and a local deadline, like ('99%', 'D0 24:00'): "
    "a share in (0, 1] or (0%, 100%], and a time of day on election day D0 or a later day "
    "('D1 06:00', or '24:00', '+1d 06:00')"
)


def plan_args(share: str, deadline: str) -> tuple[float, TimeSpec]:
    """The share and deadline of ``plan.instances_for(share, deadline)``; ValueError says what
    is valid. ``D<n> HH:MM`` is day n counted from the scenario's start date (D0)."""
    try:
        value = float(share[:-1]) / 100 if share.strip().endswith("%") else float(share)
    except ValueError:
        raise ValueError(f"share {share!r} is not a number; {PLAN_ARGS_HELP}") from None
    if not 0 < value <= 1:
        raise ValueError(f"share {share!r} is outside (0, 1]; {PLAN_ARGS_HELP}")
    day = _DAY_PREFIX.match(deadline)
    text = deadline if day is None else (f"+{day[1]}d {day[2]}" if int(day[1]) else day[2])
    try:
        spec = parse_time_spec(text, allow_offset=False)
    except ValueError:
        raise ValueError(f"deadline {deadline!r} is not a time of day; {PLAN_ARGS_HELP}") from None
    return value, TimeSpec(deadline.strip(), day=spec.day, second_of_day=spec.second_of_day)
