"""HAProxy in front of the deployment's mock instances: a real load balancer, run as a child.

It spreads requests over the instances (round robin), checks each one's ``/readyz`` every half
second and takes an instance out after two failed checks, back in after two good ones, as a
production balancer does; a connection refused by a dead instance is retried on another. Its own
view (each instance up or down) is read from its stats page, once a second, into the run
directory. Debian's ``haproxy`` package provides it (``.ci/install-parts`` installs it).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from faults.toxiproxy.launcher import free_loopback_port
from harness.children import Child, Children, wait_until
from rundir.exits import StartError

BINARY = "haproxy"
CHECK_INTERVAL_MS = 500
FALL, RISE = 2, 2
READY_TIMEOUT_S = 30.0


def find_haproxy() -> str:
    found = shutil.which(BINARY)
    if found is None:
        raise StartError(
            "haproxy is not installed: the deployment's load balancer is Debian's haproxy "
            "package (.ci/install-parts installs it)"
        )
    return found


def config(port: int, stats_port: int, servers: Sequence[tuple[str, int]]) -> str:
    """The configuration: one frontend, the instances as one checked backend, a stats page."""
    lines = [
        "global",
        "    maxconn 4000",  # within the usual open-file limit: 2 per connection
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 300s",
        "    timeout server 300s",
        "    timeout http-request 60s",
        "    retries 2",
        "    option redispatch",
        "frontend sirekap",
        f"    bind 127.0.0.1:{port}",
        "    default_backend instances",
        "backend instances",
        "    balance roundrobin",
        "    option httpchk GET /readyz",
        "    http-check expect status 200",
        f"    default-server inter {CHECK_INTERVAL_MS}ms fall {FALL} rise {RISE}",
        *[f"    server {name} 127.0.0.1:{server_port} check" for name, server_port in servers],
        "frontend stats",
        f"    bind 127.0.0.1:{stats_port}",
        "    stats enable",
        "    stats uri /stats",
    ]
    return "\n".join(lines) + "\n"


class HAProxy:
    """The load balancer of one deployment; ``servers`` are (name, port) of the instances."""

    def __init__(self, children: Children, folder: Path, servers: Sequence[tuple[str, int]]):
        self.binary = find_haproxy()
        self.port = free_loopback_port()
        self.stats_port = free_loopback_port()
        self.servers = list(servers)
        folder.mkdir(parents=True, exist_ok=True)
        self.config_path = folder / "haproxy.cfg"
        self.config_path.write_text(config(self.port, self.stats_port, self.servers))
        args = [self.binary, "-db", "-f", str(self.config_path)]  # -db: in the foreground
        self.child = children.add(Child("haproxy", args, folder / "haproxy.log"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.child.start()
        wait_until(self._all_up, self.child, READY_TIMEOUT_S, "every instance was up")

    def _all_up(self) -> bool:
        view = self.view()
        return bool(view) and all(state == "UP" for state in view.values())

    def view(self) -> dict[str, str]:
        """Each instance's state as HAProxy sees it (UP, DOWN, ...); empty if it does not answer."""
        try:
            reply = httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=1.0)
        except httpx.HTTPError:
            return {}
        if not reply.is_success:
            return {}
        return parse_stats(reply.text)


def parse_stats(text: str) -> dict[str, str]:
    """The backend servers' ``status`` column of HAProxy's stats CSV."""
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return {
        row["svname"]: row["status"].split()[0]
        for row in rows
        if row.get("pxname") == "instances" and row.get("svname") not in {"FRONTEND", "BACKEND"}
    }


class BalancerRecorder:
    """HAProxy's view once a second into ``haproxy.jsonl``: ``{"t", "sim", "servers": {name:
    state}}`` (an empty ``servers`` when it did not answer), until stopped."""

    def __init__(self, balancer: HAProxy, out: Path, simulated_now: Callable[[], float]) -> None:
        self.balancer, self.out, self.simulated_now = balancer, out, simulated_now
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="haproxy-view", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with self.out.open("a", encoding="utf-8") as handle:
            next_due = time.monotonic()
            while not self._stop.is_set():
                line = {
                    "t": round(time.time(), 3),
                    "sim": round(self.simulated_now(), 1),
                    "servers": self.balancer.view(),
                }
                handle.write(json.dumps(line) + "\n")
                handle.flush()
                next_due += 1.0
                self._stop.wait(max(0.0, next_due - time.monotonic()))
