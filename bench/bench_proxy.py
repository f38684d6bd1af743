"""Benchmark: the built-in Toxiproxy server with no toxics against direct access, side by side.

One minimal ASGI server (uvicorn, one process) on 127.0.0.1; the same load client reaches it
directly and through a proxy of the built-in server, in alternating order, several rounds; the
figures are medians over the rounds. Targets (issue: the fault layer):
  small requests/s through the proxy       >= 40% of direct
  1 MiB transfers MB/s through the proxy   >= 50% of direct
  added median latency at 200 requests/s   <= 1 ms
  2,000 concurrent connections held open through the proxy without errors
Also measured and printed: the cost of a new connection (connect, one small request and answer,
close), one after another, through the proxy against direct; and 200 new connections at once
through a proxy with a 100 ms latency toxic (median and slowest, against the 100 ms the toxic
adds). With a real ``toxiproxy-server`` on PATH the same runs go through it in the same rounds,
and the built-in server's new connections must cost no more than through it.
For scale: Go toxiproxy 2.12 reaches about 65% (small) and 25-35% (1 MiB) on such a machine.

Usage: python bench/bench_proxy.py [--rounds N] [--seconds S]   (bounded: about a minute)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _loadgen as loadgen
from _targets import Target, report

from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import (
    BINARY,
    ToxiproxyServer,
    free_loopback_port,
    start_toxiproxy,
)
from faults.toxiproxy.models import make_toxic

HOST = "127.0.0.1"
SMALL_CONNECTIONS = 32
MIB_CONNECTIONS = 8
LATENCY_RATE = 200.0
LATENCY_REQUESTS = 200
CONCURRENT = 2000
NEW_CONNECTIONS = 300  # one after another, per round
AT_ONCE = 200  # opened together through the latency toxic
TOXIC_LATENCY_MS = 100
MIB = 1 << 20

_SMALL_BODY = b"ok"
_MIB_BODY = b"\x5a" * MIB


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The upstream: ``/mib`` answers 1 MiB, anything else two bytes."""
    if scope["type"] != "http":
        return
    body = _MIB_BODY if scope["path"] == "/mib" else _SMALL_BODY
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(port: int) -> None:
    import uvicorn  # noqa: PLC0415 - only the server process needs it

    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False, backlog=4096)


@dataclass
class Route:
    name: str
    port: int


def raise_open_files_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the upstream server exited with status {process.returncode}")
        try:
            httpx.get(f"http://{HOST}:{port}/", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the upstream server did not answer within 30 s")


def measure(run: Callable[[int], Awaitable[loadgen.Result]], routes: list[Route], rounds: int,
            metric: Callable[[loadgen.Result], float]) -> dict[str, list[float]]:  # fmt: skip
    """``rounds`` runs per route, alternating which goes first."""
    values: dict[str, list[float]] = {route.name: [] for route in routes}
    for index in range(rounds):
        order = routes if index % 2 == 0 else list(reversed(routes))
        for route in order:
            result = uvloop.run(run(route.port))
            if result.errors:
                raise SystemExit(f"{route.name}: {result.errors} connection errors")
            values[route.name].append(metric(result))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per figure (default 7)")
    parser.add_argument("--seconds", type=float, default=1.5, help="seconds per run (default 1.5)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.serve:
        serve(opts.serve)
        return 0
    if not 1 <= opts.rounds <= 15 or not 0.2 <= opts.seconds <= 5:
        parser.error("--rounds must be 1-15 and --seconds 0.2-5 (the benchmark stays bounded)")
    limit = raise_open_files_limit()
    upstream_port = free_loopback_port()
    upstream = start_upstream(upstream_port)
    real_path = os.environ.get("PATH", "")
    env = {key: value for key, value in os.environ.items() if key != "TOXIPROXY_URL"}
    servers: list[ToxiproxyServer] = []
    try:
        builtin = start_toxiproxy({**env, "PATH": ""})  # always the built-in server
        servers.append(builtin)
        ports = proxies(builtin, upstream_port)
        real = None
        if shutil.which(BINARY, path=real_path):
            real_server = start_toxiproxy({**env, "PATH": real_path})
            servers.append(real_server)
            real = proxies(real_server, upstream_port)
        targets = run_all(opts.rounds, opts.seconds, upstream_port, ports[0], limit)
        return report(targets + connection_costs(opts.rounds, upstream_port, ports, real))
    finally:
        for server in servers:
            server.stop()
        upstream.terminate()
        upstream.wait(15)


def proxies(server: ToxiproxyServer, upstream_port: int) -> tuple[int, int]:
    """A plain proxy and one with a latency toxic on ``server``: their listen ports."""
    with ToxiproxyClient(server.url) as client:
        plain = client.create_proxy("bench", listen=f"{HOST}:0", upstream=f"{HOST}:{upstream_port}")
        slow = client.create_proxy(
            "bench-latency", listen=f"{HOST}:0", upstream=f"{HOST}:{upstream_port}"
        )
        client.add_toxic("bench-latency", make_toxic("latency", {"latency": TOXIC_LATENCY_MS}))
    return plain.listen_port, slow.listen_port


def connection_costs(
    rounds: int, direct_port: int, builtin: tuple[int, int], real: tuple[int, int] | None
) -> list[Target]:
    """New connections one after another (direct, built-in, real) and at once through the
    latency toxic, alternating over ``rounds``; prints medians. With a real server, the target
    that the built-in server's new connections cost no more than through it."""
    routes = [Route("direct", direct_port), Route("built-in", builtin[0])]
    slow = [Route("built-in", builtin[1])]
    if real is not None:
        routes.append(Route("real", real[0]))
        slow.append(Route("real", real[1]))
    print(f"\nnew connections: {NEW_CONNECTIONS} one after another, {rounds} rounds (ms each)")
    sequential = measure(
        lambda port: loadgen.new_connections(HOST, port, "/", NEW_CONNECTIONS),
        routes, rounds, lambda r: r.median_ms,
    )  # fmt: skip
    burst = {route.name: [] for route in slow}  # type: dict[str, list[loadgen.Result]]
    for index in range(rounds):
        for route in slow if index % 2 == 0 else list(reversed(slow)):
            burst[route.name].append(
                uvloop.run(loadgen.connections_at_once(HOST, route.port, "/", AT_ONCE))
            )
    direct = statistics.median(sequential["direct"])
    for name, values in sequential.items():
        cost = statistics.median(values)
        extra = (
            "" if name == "direct" else f"  (+{cost - direct:.3f} ms, {cost / direct:.2f}x direct)"
        )
        print(f"  {name:<9} median {cost:.3f} ms per new connection{extra}")
    print(f"{AT_ONCE} new connections at once through a {TOXIC_LATENCY_MS} ms latency toxic (ms):")
    for name, results in burst.items():
        medians = [r.median_ms for r in results]
        slowest = [max(r.latencies) * 1000 for r in results if r.latencies]
        errors = sum(r.errors for r in results)
        print(
            f"  {name:<9} median {statistics.median(medians):.1f}, slowest "
            f"{statistics.median(slowest):.1f} (median over rounds), errors {errors}"
        )
    if real is None:
        print(f"  no {BINARY} on PATH: the built-in server is not compared with a real one")
        return []
    ours, theirs = statistics.median(sequential["built-in"]), statistics.median(sequential["real"])
    return [Target("new connection ms, built-in / real toxiproxy-server", ours / theirs, "<=", 1.0)]


def run_all(
    rounds: int, seconds: float, direct_port: int, proxy_port: int, limit: int
) -> list[Target]:
    routes = [Route("direct", direct_port), Route("proxy", proxy_port)]
    print(
        f"built-in Toxiproxy vs direct: {rounds} rounds of {seconds:g} s, open-file limit {limit}"
    )
    for route in routes:  # warm up both paths
        uvloop.run(loadgen.closed_loop(HOST, route.port, "/", 4, 0.2))
    small = measure(
        lambda port: loadgen.closed_loop(HOST, port, "/", SMALL_CONNECTIONS, seconds),
        routes, rounds, lambda r: r.rate,
    )  # fmt: skip
    mib = measure(
        lambda port: loadgen.closed_loop(HOST, port, "/mib", MIB_CONNECTIONS, seconds),
        routes, rounds, lambda r: r.mb_per_s,
    )  # fmt: skip
    latency = measure(
        lambda port: loadgen.paced_latency(HOST, port, "/", LATENCY_RATE, LATENCY_REQUESTS),
        routes, rounds, lambda r: r.median_ms,
    )  # fmt: skip
    held = uvloop.run(loadgen.hold_open(HOST, proxy_port, "/", CONCURRENT, 1.0))

    def med(values: dict[str, list[float]], name: str) -> float:
        return statistics.median(values[name])

    small_ratio = med(small, "proxy") / med(small, "direct")
    mib_ratio = med(mib, "proxy") / med(mib, "direct")
    added_ms = med(latency, "proxy") - med(latency, "direct")
    held_ok = held.errors == 0 and held.requests == CONCURRENT
    rows = [
        (f"small requests/s ({SMALL_CONNECTIONS} conns)", f"{med(small, 'direct'):,.0f}",
         f"{med(small, 'proxy'):,.0f}", f"{small_ratio:.0%}", ">= 40%", small_ratio >= 0.40),
        (f"1 MiB transfers MB/s ({MIB_CONNECTIONS} conns)", f"{med(mib, 'direct'):,.0f}",
         f"{med(mib, 'proxy'):,.0f}", f"{mib_ratio:.0%}", ">= 50%", mib_ratio >= 0.50),
        (f"median latency ms @ {LATENCY_RATE:.0f}/s", f"{med(latency, 'direct'):.3f}",
         f"{med(latency, 'proxy'):.3f}", f"+{added_ms:.3f} ms", "<= +1 ms", added_ms <= 1.0),
        (f"{CONCURRENT} concurrent connections", "-",
         f"{held.requests} ok, {held.errors} err", "-", "0 errors", held_ok),
    ]  # fmt: skip
    print("\nper round (direct | proxy):")
    for title, values, fmt in (("small req/s", small, ",.0f"), ("1 MiB MB/s", mib, ",.0f"),
                               ("latency ms", latency, ".3f")):  # fmt: skip
        line = "  ".join(
            f"{d:{fmt}}|{p:{fmt}}" for d, p in zip(values["direct"], values["proxy"], strict=True)
        )
        print(f"  {title:<12} {line}")
    header = f"\n{'figure':<34} {'direct':>10} {'proxy':>18} {'ratio':>11} {'target':>9}"
    print(header)
    for name, direct, proxy, ratio, target, _ in rows:
        print(f"{name:<34} {direct:>10} {proxy:>18} {ratio:>11} {target:>9}")
    return [
        Target("small requests/s, proxy / direct", small_ratio, ">=", 0.40),
        Target("1 MiB transfers MB/s, proxy / direct", mib_ratio, ">=", 0.50),
        Target(f"added median latency ms @ {LATENCY_RATE:.0f}/s", added_ms, "<=", 1.0),
        Target(
            f"failed of {CONCURRENT} concurrent connections",
            float(held.errors + CONCURRENT - held.requests), "<=", 0,
        ),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
