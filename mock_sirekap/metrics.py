"""Prometheus metrics of the mock (multiprocess-safe when ``--workers`` > 1).

With several server processes, ``PROMETHEUS_MULTIPROC_DIR`` must be set before this module is
imported (the CLI does it); ``/metrics`` then merges every process's files.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "sirekap_requests", "HTTP requests answered, by endpoint and status", ["endpoint", "status"]
)
REQUEST_SECONDS = Histogram(
    "sirekap_request_duration_seconds",
    "Time from a request's arrival to its response, by endpoint",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "sirekap_in_flight_requests", "Requests being served by a worker", multiprocess_mode="livesum"
)
QUEUE_DEPTH = Gauge(
    "sirekap_queue_depth", "Requests waiting for a worker", multiprocess_mode="livesum"
)
REJECTIONS = Counter(
    "sirekap_rejections",
    "Requests refused before service, by reason (queue_full, queue_timeout, fault, plenary_gate)",
    ["reason"],
)
DISCONNECTS = Counter(
    "sirekap_client_disconnects",
    "Requests whose client hung up before its answer (not answered, not a server error), "
    "by endpoint",
    ["endpoint"],
)
RESULTS_STORED = Counter("sirekap_results_stored", "Result revisions durably stored")
PAGES_STORED = Counter("sirekap_pages_stored", "Page photos durably stored")
UPLOAD_BYTES = Counter("sirekap_upload_bytes", "Bytes of page photos received and verified")
PLENARY_SUBMISSIONS = Counter(
    "sirekap_plenary_submissions",
    "Manual totals submitted to the plenary, by outcome "
    "(matched, discrepancy, missing_upload, already_gaveled)",
    ["outcome"],
)
PLENARY_OUTCOMES: tuple[str, ...] = ("matched", "discrepancy", "missing_upload", "already_gaveled")
for _outcome in PLENARY_OUTCOMES:  # every outcome is exported from the start, at 0
    PLENARY_SUBMISSIONS.labels(_outcome)
PLENARY_CLOSED = Counter(
    "sirekap_plenary_closed", "TPS gaveled (closed) by the plenary, by a manual entry or a revision"
)
DB_COMMIT_SECONDS = Histogram(
    "sirekap_db_commit_duration_seconds",
    "Duration of one group-commit transaction",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
DB_BATCH_SIZE = Histogram(
    "sirekap_db_commit_batch_size",
    "Writes committed together in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)


_request_children: dict[tuple[str, int], tuple[Any, Any]] = {}


def observe_request(endpoint: str, status: int, seconds: float) -> None:
    """Count one answered request (label children cached: this runs on every request)."""
    children = _request_children.get((endpoint, status))
    if children is None:
        children = (REQUESTS.labels(endpoint, str(status)), REQUEST_SECONDS.labels(endpoint))
        _request_children[(endpoint, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text of every process's metrics, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prom_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
