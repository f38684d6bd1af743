"""The mock's ``--capacity`` file, written from a scenario's ``[target.mock]`` model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.schema.target import ENDPOINTS, TargetSpec


def capacity_json(target: TargetSpec) -> dict[str, Any]:
    """The mock's ``--capacity`` document for this target; ValueError if the target is a URL.

    ``{"mode", "workers", "queue", "queue_timeout": s, "retry_after": int s, "service_time":
    {endpoint: {"median": s, "p95": s, "per_mib": s}}}``, all real-clock seconds.
    """
    mock = target.mock
    if mock is None:
        raise ValueError(f"the target is a real service ({target.url}), not the mock")
    return {
        "mode": mock.mode,
        "workers": mock.workers,
        "queue": mock.queue,
        "queue_timeout": mock.queue_timeout,
        "retry_after": int(mock.retry_after),
        "service_time": {
            endpoint: {
                "median": spec.median,
                "p95": spec.p95,
                "per_mib": spec.per_mib,
            }
            for endpoint in ENDPOINTS
            for spec in (getattr(mock.service_time, endpoint),)
        },
    }


def write_capacity(target: TargetSpec, path: Path) -> None:
    """Write :func:`capacity_json` to ``path`` (the mock's ``--capacity FILE``)."""
    path.write_text(json.dumps(capacity_json(target), indent=2) + "\n", encoding="utf-8")
