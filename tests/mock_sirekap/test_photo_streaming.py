"""Page photos are streamed: hashed (and with ``--keep-photos`` written) as they arrive, stored
under their hash only once the hash matches, never left half-written, and a large one does not
sit whole in the mock's memory."""

from __future__ import annotations

import concurrent.futures
import hashlib
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from mock_sirekap.photos import STREAM_BLOCK
from tests.mock_sirekap.conftest import MockServer, photo

pytestmark = pytest.mark.slow
MIB = 1_048_576


def _stored(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*.jpg")}


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".jpg")]


def _put(client: httpx.Client, mock: MockServer, tps: str, page: int, body: bytes, sha: str):  # type: ignore[no-untyped-def]
    headers = {**mock.login(client, tps), "X-Content-SHA256": sha}
    return client.put(
        f"{mock.url}/api/v1/tps/{tps}/ppwp/pages/{page}", content=body, headers=headers
    )


def test_photos_small_and_larger_than_a_block_are_kept_whole_under_their_hash(
    start_mock: Callable[..., MockServer], client: httpx.Client, tmp_path: Path
) -> None:
    kept = tmp_path / "photos"
    mock = start_mock("--keep-photos", str(kept))
    small, small_sha = photo("small", 4096)
    large, large_sha = photo("large", 3 * STREAM_BLOCK + 12_345)  # four blocks, the last short
    tps = mock.tps_codes()
    assert _put(client, mock, tps[0], 1, small, small_sha).status_code == 201
    assert _put(client, mock, tps[1], 1, large, large_sha).status_code == 201
    assert _stored(kept) == {f"{small_sha}.jpg": small, f"{large_sha}.jpg": large}
    assert (kept / large_sha[:2] / f"{large_sha}.jpg").exists()
    assert _leftovers(kept) == []


def test_a_large_photo_that_does_not_match_its_hash_leaves_nothing_behind(
    start_mock: Callable[..., MockServer], client: httpx.Client, tmp_path: Path
) -> None:
    kept = tmp_path / "photos"
    mock = start_mock("--keep-photos", str(kept))
    body, _ = photo("large", 2 * STREAM_BLOCK + 1)
    claimed = hashlib.sha256(b"something else").hexdigest()
    answer = _put(client, mock, mock.tps_codes()[0], 1, body, claimed)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"checksum mismatch: received {len(body)} bytes")
    assert _stored(kept) == {} and _leftovers(kept) == []


def test_a_client_that_hangs_up_mid_photo_leaves_no_partial_file(
    start_mock: Callable[..., MockServer], client: httpx.Client, tmp_path: Path
) -> None:
    kept = tmp_path / "photos"
    mock = start_mock("--keep-photos", str(kept))
    tps = mock.tps_codes()[0]
    body, sha = photo("cut", 4 * STREAM_BLOCK)
    headers = {**mock.login(client, tps), "X-Content-SHA256": sha}
    host, port = mock.url.removeprefix("http://").split(":")
    head = [
        f"PUT /api/v1/tps/{tps}/ppwp/pages/1 HTTP/1.1",
        "Host: x",
        f"Content-Length: {len(body)}",
    ]
    head += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[: 2 * STREAM_BLOCK + 10])
        time.sleep(0.5)  # two blocks written to the temporary file, then the client is gone
    deadline = time.monotonic() + 20
    while _leftovers(kept) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftovers(kept) == [] and _stored(kept) == {}
    # the same photo sent whole afterwards is stored
    assert _put(client, mock, tps, 1, body, sha).status_code == 201
    assert _stored(kept) == {f"{sha}.jpg": body}


def test_the_same_photo_from_many_devices_at_once_is_stored_once_and_whole(
    start_mock: Callable[..., MockServer], tmp_path: Path
) -> None:
    kept = tmp_path / "photos"
    mock = start_mock("--keep-photos", str(kept))
    body, sha = photo("shared", 2 * STREAM_BLOCK + 77)

    def send(tps: str) -> int:
        with httpx.Client(timeout=60) as own:
            return int(_put(own, mock, tps, 1, body, sha).status_code)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(send, mock.tps_codes()[:8]))
    assert codes == [201] * 8
    assert _stored(kept) == {f"{sha}.jpg": body} and _leftovers(kept) == []


def _peak_rss(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_a_large_photo_is_not_held_whole_in_memory(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    """A 96 MiB photo (the limit raised) lifts the mock's peak RSS by far less than its size;
    held whole it cost about twice its size (the chunks and their join). The peak is the
    kernel's high-water mark, so no moment of the upload is missed."""
    mock = start_mock("--max-upload-mib", "128")
    assert mock.process is not None
    pid = mock.process.pid
    small, small_sha = photo("warm-up", 2 * STREAM_BLOCK)
    tps = mock.tps_codes()
    assert _put(client, mock, tps[0], 1, small, small_sha).status_code == 201
    before = psutil.Process(pid).memory_info().rss
    body, sha = photo("huge", 96 * MIB)
    assert _put(client, mock, tps[1], 1, body, sha).status_code == 201
    grew = (_peak_rss(pid) - before) / MIB
    assert grew < 32, f"the mock's peak RSS is {grew:.0f} MiB over its RSS before a 96 MiB photo"
