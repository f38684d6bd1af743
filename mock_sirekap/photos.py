"""Page photos as the upload route receives them: read from the request stream once the device
is authorised, hashed (off the event loop when large), checked against the declared SHA-256, and
with ``--keep-photos`` written durably under their hash before they are acknowledged.

The size and time limits of the body are the admission middleware's body guard (``bodies``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import Request

from mock_sirekap.errors import ApiError

HASH_OFF_LOOP_BYTES = 256 * 1024
# One hashing thread: it works beside the event loop; more would only contend for the same cores.
_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="photo-sha256")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def parse_sha256(header: str | None) -> str:
    """The photo's hex SHA-256 as the X-Content-SHA256 header declares it (400 unless it is
    well-formed)."""
    expected = (header or "").strip().lower()
    if not SHA256_HEX.match(expected):
        raise ApiError(
            400, "missing or malformed X-Content-SHA256 header: send the photo's hex SHA-256"
        )
    return expected


async def receive_photo(request: Request, expected: str, keep: Path | None) -> tuple[str, int]:
    """Read and hash the body: its SHA-256 and size; 400 unless it is whole and as declared."""
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
    if size == 0:
        raise ApiError(400, "empty body: a page upload must carry the photo bytes")
    # hashlib releases the GIL on large buffers: a photo is hashed on another core while this
    # process goes on receiving other uploads.
    if size >= HASH_OFF_LOOP_BYTES:
        actual = await asyncio.get_running_loop().run_in_executor(_HASHER, _sha256, chunks)
    else:
        actual = _sha256(chunks)
    if actual != expected:
        raise ApiError(
            400,
            f"checksum mismatch: received {size} bytes with SHA-256 {actual[:16]}..., header "
            f"says {expected[:16]}...; the upload was truncated or corrupted and not stored",
        )
    if keep is not None:
        await asyncio.to_thread(_write_photo, keep, actual, chunks)
    return actual, size


def _sha256(chunks: list[bytes]) -> str:
    # One update over the joined body: a single release of the GIL for the whole photo, where one
    # per chunk would make this thread queue for the GIL behind the event loop many times over.
    return hashlib.sha256(b"".join(chunks)).hexdigest()


def _write_photo(directory: Path, sha256: str, chunks: list[bytes]) -> None:
    """Write the photo durably under its hash (write, fsync, rename) before it is acknowledged."""
    target = directory / sha256[:2] / f"{sha256}.jpg"
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    with partial.open("wb") as handle:
        handle.writelines(chunks)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
