"""Page photos as the upload route receives them: streamed from the request once the device is
authorised, hashed as they arrive (off the event loop when large), checked against the declared
SHA-256, and with ``--keep-photos`` written durably under their hash before they are acknowledged.

The size and time limits of the body are the admission middleware's body guard (``bodies``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import Request

from mock_sirekap.errors import ApiError

HASH_OFF_LOOP_BYTES = 256 * 1024
STREAM_BLOCK = 512 * 1024  # a larger body is hashed (and written) a block at a time
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
    """Read and hash the body: its SHA-256 and size; 400 unless it is whole and as declared.

    The body is streamed: a photo up to ``HASH_OFF_LOOP_BYTES`` is hashed on the event loop, a
    larger one in blocks of ``STREAM_BLOCK`` bytes as they arrive (hashed, and with ``keep``
    written to a temporary file, on the hasher thread), so an upload holds at most about one
    block in memory whatever its size. The file is made durable and renamed under its hash only
    once the hash matches; a mismatch, a disconnect or an error removes it."""
    hasher = hashlib.sha256()
    sink = _Sink.open(keep, expected) if keep is not None else None
    loop = asyncio.get_running_loop()
    size, pending, pending_size, streamed = 0, [], 0, False
    try:
        async for chunk in request.stream():
            size += len(chunk)
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= STREAM_BLOCK:
                block, pending, pending_size = pending, [], 0
                await loop.run_in_executor(_HASHER, _consume, hasher, sink, block)
                streamed = True
        if size == 0:
            raise ApiError(400, "empty body: a page upload must carry the photo bytes")
        # hashlib releases the GIL on large buffers: a photo is hashed on another core while
        # this process goes on receiving other uploads.
        if streamed or size >= HASH_OFF_LOOP_BYTES:
            if pending:
                await loop.run_in_executor(_HASHER, _consume, hasher, sink, pending)
        else:
            _consume(hasher, None, pending)
        actual = hasher.hexdigest()
        if actual != expected:
            raise ApiError(
                400,
                f"checksum mismatch: received {size} bytes with SHA-256 {actual[:16]}..., header "
                f"says {expected[:16]}...; the upload was truncated or corrupted and not stored",
            )
        if sink is not None:
            if not streamed and size < HASH_OFF_LOOP_BYTES:
                sink.write(pending)
            await asyncio.to_thread(sink.commit)
    finally:
        if sink is not None:
            sink.discard()  # nothing left when committed
    return actual, size


def _consume(hasher: Any, sink: _Sink | None, chunks: list[bytes]) -> None:
    """Hash (and keep) the chunks as received: no joined copy of the block is made."""
    for chunk in chunks:
        hasher.update(chunk)
    if sink is not None:
        sink.write(chunks)


class _Sink:
    """A photo on its way to ``<dir>/<sha[:2]>/<sha>.jpg``: a temporary file beside it, written
    as the body arrives, fsynced and renamed by :meth:`commit` (acknowledged only after).
    A photo already stored is not written again."""

    def __init__(self, target: Path, partial: Path | None) -> None:
        self.target, self.partial = target, partial
        self.handle: BinaryIO | None = None

    @classmethod
    def open(cls, directory: Path, sha256: str) -> _Sink:
        target = directory / sha256[:2] / f"{sha256}.jpg"
        if target.exists():
            return cls(target, None)
        target.parent.mkdir(parents=True, exist_ok=True)
        # unique per upload: two devices may send the same photo at once
        descriptor, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{sha256[:16]}.", suffix=".part"
        )
        sink = cls(target, Path(name))
        sink.handle = os.fdopen(descriptor, "wb")
        return sink

    def write(self, chunks: list[bytes]) -> None:
        if self.handle is not None:
            self.handle.writelines(chunks)

    def commit(self) -> None:
        """fsync and rename (and the folder's entry fsynced): the photo is durable."""
        if self.handle is None or self.partial is None:
            return
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        self.handle = None
        self.partial.replace(self.target)
        self.partial = None
        folder = os.open(self.target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def discard(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.partial is not None:
            self.partial.unlink(missing_ok=True)
            self.partial = None
