"""Scrape the target's Prometheus metrics every second into ``server_metrics.jsonl``.

Each line: ``{"t": unix time, "sim": simulated seconds, "ok": true, "samples": {name: value}}``
(with ``"instance": name`` for each instance of a deployment)
or, when the scrape fails, ``{"t", "sim", "ok": false, "error": "..."}`` (an outage seen from the
outside is data too). Histogram buckets are left out; their ``_count`` and ``_sum`` are kept.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

SCRAPE_INTERVAL_S = 1.0
SCRAPE_TIMEOUT_S = 0.9


def flatten(text: str, prefix: str = "sirekap_") -> dict[str, float]:
    """``name{label="v",...}`` -> value for every sample of the families named ``prefix*``."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith(prefix):
            continue
        for sample in family.samples:
            if sample.name.endswith(("_bucket", "_created")):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


class MetricsScraper:
    """A background thread scraping ``url`` once a second until stopped; a deployment's
    instances are scraped each (``urls``: name -> metrics URL), each line naming its
    ``instance``."""

    def __init__(
        self,
        url: str,
        out: Path,
        simulated_now: Callable[[], float],
        urls: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.urls = dict(urls) if urls else {}
        self.out = out
        self.simulated_now = simulated_now
        self.scrapes = 0
        self.failures = 0
        self.last_samples: dict[str, float] = {}  # of the last successful scrape, for displays
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-scraper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=SCRAPE_TIMEOUT_S) as client, self.out.open("a") as handle:
            next_due = time.monotonic()
            while not self._stop.is_set():
                for name, url in self.urls.items() or [(None, self.url)]:
                    line = self._scrape(client, url)
                    if name is not None:
                        line["instance"] = name
                    handle.write(json.dumps(line) + "\n")
                handle.flush()
                next_due += SCRAPE_INTERVAL_S
                self._stop.wait(max(0.0, next_due - time.monotonic()))

    def _scrape(self, client: httpx.Client, url: str) -> dict[str, object]:
        line: dict[str, object] = {
            "t": round(time.time(), 3),
            "sim": round(self.simulated_now(), 1),
        }
        self.scrapes += 1
        try:
            response = client.get(url)
            response.raise_for_status()
            samples = flatten(response.text)
            line.update(ok=True, samples=samples)
            if url == self.url or not self.urls:
                self.last_samples = samples
        except (httpx.HTTPError, ValueError) as exc:
            self.failures += 1
            line.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        return line
