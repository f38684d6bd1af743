"""Each toxic's effect, measured on the wire through a real local HTTP server.

Parameterised over Toxiproxy implementations (see conftest): the built-in server must do what the
real one does, so both run the same assertions.

Timing bounds: a lower bound is a correctness bound (a toxic never acts before its time, measured
from a moment before the cause: before connecting, before sending), so it is exact; an upper bound
only catches a toxic that never acts, so it is generous enough for a busy machine.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from faults.toxiproxy.models import (
    BandwidthToxic,
    LatencyToxic,
    LimitDataToxic,
    ResetPeerToxic,
    SlicerToxic,
    SlowCloseToxic,
    TimeoutToxic,
)
from tests.faults.conftest import ProxyUnderTest
from tests.faults.wire import pattern, read_response, read_until_closed, send_get

pytestmark = pytest.mark.slow


def timed_get(sock: socket.socket, path: str) -> tuple[bytes, float]:
    start = time.monotonic()
    send_get(sock, path)
    _, body = read_response(sock)
    return body, time.monotonic() - start


def test_without_toxics_a_mebibyte_passes_intact(proxy: ProxyUnderTest) -> None:
    with proxy.connect() as sock:
        body, _ = timed_get(sock, f"/bytes/{1 << 20}")
    assert body == pattern(1 << 20)


def test_latency_delays_each_response_by_at_least_the_latency(proxy: ProxyUnderTest) -> None:
    with proxy.connect() as sock:
        _, baseline = timed_get(sock, "/")
        proxy.client.add_toxic(proxy.name, LatencyToxic(latency=200))
        body, elapsed = timed_get(sock, "/bytes/20000")
    assert body == pattern(20000), "latency must not change the bytes"
    assert elapsed >= 0.2, f"answered {elapsed:.4f}s after the request, before the 0.2s latency"
    assert elapsed - baseline < 1.5, f"added {elapsed - baseline:.3f}s, wanted ~0.2s"


def test_latency_jitter_spreads_delays_within_plus_minus_jitter(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, LatencyToxic(latency=100, jitter=50))
    with proxy.connect() as sock:
        delays = [timed_get(sock, "/")[1] for _ in range(10)]  # all within 5 ms: ~5e-11
    assert all(delay >= 0.05 for delay in delays), f"sooner than 100 - 50 ms: {delays}"
    assert all(delay < 1.5 for delay in delays), delays
    assert max(delays) - min(delays) > 0.005, f"no jitter seen: {delays}"


def test_upstream_latency_delays_the_request(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, LatencyToxic(latency=150, stream="upstream"))
    with proxy.connect() as sock:
        _, elapsed = timed_get(sock, "/")
    assert elapsed >= 0.15, f"answered after {elapsed:.4f}s, before the 0.15s latency"
    assert elapsed < 1.5


def test_new_removed_and_updated_toxics_apply_to_open_connections(proxy: ProxyUnderTest) -> None:
    # 600 ms of latency against requests that take a few ms: a busy machine cannot blur the two
    with proxy.connect() as sock:
        _, before = timed_get(sock, "/")
        proxy.client.add_toxic(proxy.name, LatencyToxic(latency=600))
        _, during = timed_get(sock, "/")
        proxy.client.update_toxic(proxy.name, LatencyToxic(latency=0))
        _, updated = timed_get(sock, "/")
        proxy.client.add_toxic(proxy.name, LatencyToxic(name="slow", latency=600))
        proxy.client.remove_toxic(proxy.name, "slow")
        _, after = timed_get(sock, "/")
    assert during >= 0.6, f"the added toxic did not apply: {during:.3f}s"
    assert (before < 0.6, updated < 0.6, after < 0.6) == (True, True, True), (
        before,
        updated,
        after,
    )


def test_disabled_proxy_refuses_connections_and_drops_open_ones(proxy: ProxyUnderTest) -> None:
    with proxy.connect() as open_sock:
        proxy.client.disable(proxy.name)
        open_sock.settimeout(2.0)
        try:
            data = open_sock.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b"", "an open connection must be dropped when the proxy goes down"
    with pytest.raises(ConnectionRefusedError):
        proxy.connect(timeout=1.0)
    proxy.client.enable(proxy.name)
    with proxy.connect() as sock:
        assert timed_get(sock, "/")[0] == b"ok"


def test_reset_peer_resets_the_connection_on_first_data(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, ResetPeerToxic(stream="upstream"))
    uploads_before = len(proxy.upstream.uploads)
    with proxy.connect() as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    time.sleep(0.1)
    assert len(proxy.upstream.uploads) == uploads_before, "the request must not reach the server"


def test_reset_peer_timeout_delays_the_reset(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, ResetPeerToxic(timeout=300))
    start = time.monotonic()  # the timer starts with the first data: it cannot start sooner
    with proxy.connect() as sock:
        send_get(sock, "/")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
        elapsed = time.monotonic() - start
    assert elapsed >= 0.3, f"reset {elapsed:.5f}s after connecting, before the 0.3s timeout"
    assert elapsed < 4.0


def test_limit_data_closes_after_exactly_n_bytes_downstream(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, LimitDataToxic(bytes=1000))
    with proxy.connect() as sock:
        send_get(sock, "/bytes/5000", close=True)
        data, _ = read_until_closed(sock)
    assert len(data) == 1000
    assert data.endswith(pattern(5000)[: len(data) - data.index(b"\r\n\r\n") - 4])


def test_limit_data_upstream_truncates_an_upload(proxy: ProxyUnderTest) -> None:
    body = pattern(50_000)
    head = f"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    proxy.client.add_toxic(proxy.name, LimitDataToxic(bytes=len(head) + 1000, stream="upstream"))
    count = len(proxy.upstream.uploads)
    with proxy.connect() as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + body)
        deadline = time.monotonic() + 10
        while len(proxy.upstream.uploads) == count and time.monotonic() < deadline:
            time.sleep(0.02)
    assert proxy.upstream.uploads[count:] == [1000], "the server must get exactly 1000 body bytes"


def test_bandwidth_limits_a_download_to_the_rate(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, BandwidthToxic(rate=400))
    with proxy.connect() as sock:
        body, elapsed = timed_get(sock, "/bytes/200000")
    rate_kb_s = len(body) / elapsed / 1000
    assert body == pattern(200_000)
    # over the rate is wrong; under it is a slow machine or the toxic's 100 ms steps
    assert rate_kb_s <= 400 * 1.15, f"{rate_kb_s:.0f} KB/s, over the 400 KB/s rate"
    assert rate_kb_s >= 400 * 0.4, f"{rate_kb_s:.0f} KB/s, far under the 400 KB/s rate"


def test_bandwidth_limits_an_upload_to_the_rate(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, BandwidthToxic(rate=400, stream="upstream"))
    body = pattern(200_000)
    head = f"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with proxy.connect() as sock:
        start = time.monotonic()
        sock.sendall(head + body)
        _, answer = read_response(sock)
        elapsed = time.monotonic() - start
    assert answer == b"200000"
    rate_kb_s = (len(head) + len(body)) / elapsed / 1000
    assert rate_kb_s <= 400 * 1.15, f"{rate_kb_s:.0f} KB/s, over the 400 KB/s rate"
    assert rate_kb_s >= 400 * 0.4, f"{rate_kb_s:.0f} KB/s, far under the 400 KB/s rate"


def test_timeout_drops_data_and_closes_after_the_timeout(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, TimeoutToxic(timeout=300))
    start = time.monotonic()  # before connecting: the toxic's timer cannot start sooner
    with proxy.connect() as sock:
        send_get(sock, "/")
        data, closed_at = read_until_closed(sock)
    assert data == b""
    assert closed_at - start >= 0.3, f"closed {closed_at - start:.5f}s after connecting"
    assert closed_at - start < 4.0, "the timeout never closed the connection"


def test_timeout_closes_only_after_the_timeout_passes_without_data(
    proxy: ProxyUnderTest,
) -> None:
    # Toxiproxy's timeout toxic waits afresh after every chunk it drops. Chunks 0.1 s apart
    # against a 1 s timeout: only a stall of most of a second could close the link between two.
    proxy.client.add_toxic(proxy.name, TimeoutToxic(timeout=1000, stream="upstream"))
    sent: list[float] = []  # taken before each send: the toxic cannot see the chunk sooner
    with proxy.connect() as sock:

        def keep_sending() -> None:
            for _ in range(5):
                time.sleep(0.1)
                before = time.monotonic()
                try:
                    sock.sendall(b"x")
                except OSError:
                    return
                sent.append(before)

        sender = threading.Thread(target=keep_sending)
        sender.start()
        data, closed_at = read_until_closed(sock)
        sender.join()
    assert data == b""
    assert len(sent) == 5, f"closed while data was still arriving, after {len(sent)} sends"
    assert closed_at - sent[-1] >= 1.0, f"closed {closed_at - sent[-1]:.4f}s after the last data"
    assert closed_at - sent[-1] < 5.0


def test_timeout_zero_holds_the_connection_until_the_toxic_is_removed(
    proxy: ProxyUnderTest,
) -> None:
    proxy.client.add_toxic(proxy.name, TimeoutToxic(timeout=0))
    with proxy.connect() as sock:
        send_get(sock, "/")
        sock.settimeout(0.6)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # held: no data, not closed
        proxy.client.remove_toxic(proxy.name, "timeout_downstream")
        sock.settimeout(2.0)
        data, _ = read_until_closed(sock)
    assert data == b"", "removing the toxic closes the held connection; the data was dropped"


def test_slicer_delivers_all_bytes_in_many_small_pieces(proxy: ProxyUnderTest) -> None:
    # 30 pieces 20 ms apart: a reader stalled for tens of ms still sees them apart
    slicer = SlicerToxic(average_size=100, size_variation=20, delay=20000)
    proxy.client.add_toxic(proxy.name, slicer)
    with proxy.connect() as sock:
        start = time.monotonic()
        send_get(sock, "/bytes/3000")
        data, reads, body = b"", 0, b""
        while len(body) < 3000:
            chunk = sock.recv(65536)
            assert chunk, "closed early"
            data += chunk
            reads += 1
            body = data.partition(b"\r\n\r\n")[2]
        elapsed = time.monotonic() - start
    assert body == pattern(3000)
    assert reads >= 5, f"only {reads} reads: the data was not sliced"
    assert elapsed >= 0.4, "30 pieces 20 ms apart take at least 0.4 s"


def test_slow_close_holds_the_close_back(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, SlowCloseToxic(delay=300))
    with proxy.connect() as sock:
        sent_at = time.monotonic()
        send_get(sock, "/", close=True)
        data, closed_at = read_until_closed(sock)
    assert data.endswith(b"ok")
    assert closed_at - sent_at >= 0.3, f"closed {closed_at - sent_at:.3f}s after the request"
    assert closed_at - sent_at < 4.0


def test_slow_close_updated_during_the_delay_waits_the_new_delay_afresh(
    proxy: ProxyUnderTest,
) -> None:
    proxy.client.add_toxic(proxy.name, SlowCloseToxic(delay=2500))
    with proxy.connect() as sock:
        sent_at = time.monotonic()
        send_get(sock, "/", close=True)
        _, body = read_response(sock)
        time.sleep(0.1)  # the server has closed its side: the close is being held back
        updated_at = time.monotonic()
        proxy.client.update_toxic(proxy.name, SlowCloseToxic(delay=300))
        data, closed_at = read_until_closed(sock)
    assert body == b"ok" and data == b""
    assert closed_at - updated_at >= 0.3, f"closed {closed_at - updated_at:.4f}s after the update"
    assert closed_at - sent_at < 2.5, "the close waited for the old delay"


def test_toxicity_applies_a_toxic_to_about_that_share_of_connections(
    proxy: ProxyUnderTest,
) -> None:
    proxy.client.add_toxic(proxy.name, ResetPeerToxic(stream="upstream", toxicity=0.5))
    outcomes = []
    for _ in range(40):
        with proxy.connect() as sock:
            try:
                body, _ = timed_get(sock, "/")
                outcomes.append("ok" if body == b"ok" else f"bad {body!r}")
            except (ConnectionResetError, ConnectionError):
                outcomes.append("reset")
    assert not [outcome for outcome in outcomes if outcome.startswith("bad")], outcomes
    assert 4 <= outcomes.count("reset") <= 36, outcomes  # Bin(40, 0.5) outside: 2e-8


def test_toxicity_zero_leaves_connections_alone(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, ResetPeerToxic(toxicity=0.0))
    for _ in range(5):
        with proxy.connect() as sock:
            assert timed_get(sock, "/")[0] == b"ok"


def test_latency_does_not_reorder_or_lose_a_large_body(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, LatencyToxic(latency=5, jitter=4))
    with proxy.connect() as sock:
        body, _ = timed_get(sock, f"/bytes/{1 << 20}")
    assert body == pattern(1 << 20)


def test_toxicity_is_drawn_once_per_connection_not_per_chunk(proxy: ProxyUnderTest) -> None:
    proxy.client.add_toxic(proxy.name, ResetPeerToxic(stream="upstream", toxicity=0.5))
    survivors = resets = 0
    # 40 fair draws: all alike by chance is 2 in 2**40, so either count being 0 is a defect
    for _ in range(40):
        with proxy.connect() as sock:
            try:
                timed_get(sock, "/")
            except ConnectionError:
                resets += 1
                continue
            survivors += 1
            for _ in range(3):  # the draw spared this connection: it stays spared
                assert timed_get(sock, "/")[0] == b"ok"
    assert survivors > 0 and resets > 0, (survivors, resets)
