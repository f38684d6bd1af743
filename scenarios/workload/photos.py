"""Page photos: deterministic bytes of the size the population gives each page.

A photo is a JPEG start-of-image and JFIF header, pseudo-random filler (incompressible, like a
real photo) and an end-of-image marker. The same seed, TPS, election and page always give the
same bytes, so the SHA-256 a device reports can be checked after the run, and a retry sends the
same photo without keeping it. The filler is SHAKE-128 output keyed by those four: one C call,
about twice as fast as a seeded ``random.Random`` at 1 MB (a device makes its photos as it
sends them, so this is load-generator CPU per request).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

from scenarios.schema.population import Election

if TYPE_CHECKING:
    from scenarios.workload.population import Tps

_HEADER: Final = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_TRAILER: Final = b"\xff\xd9"


def page_photo(seed: int, tps: Tps, election: Election, page: int) -> bytes:
    """The photo of page ``page`` (0-based) of ``tps``'s ``election`` form."""
    sizes = tps.pages[election]
    if not 0 <= page < len(sizes):
        raise IndexError(f"{election} form of TPS {tps.code} has pages 0-{len(sizes) - 1}")
    filler = max(0, sizes[page] - len(_HEADER) - len(_TRAILER))
    key = f"sirekap-loadtest/photo/{seed}/{tps.code}/{election}/{page}".encode()
    return b"".join((_HEADER, hashlib.shake_128(key).digest(filler), _TRAILER))


def page_digest(seed: int, tps: Tps, election: Election, page: int) -> str:
    """SHA-256 (hex) of :func:`page_photo`."""
    return hashlib.sha256(page_photo(seed, tps, election, page)).hexdigest()
