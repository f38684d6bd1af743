"""Request ids for ``X-Toxiproxy-Request-Id``, in the form the real server's ids take.

Toxiproxy gives every request its router matches a globally unique id of 12 bytes (4 of UNIX time
in seconds, 3 identifying the host, 2 the process, 3 of a counter), written as 20 characters of
lower-case base32hex (``0-9a-v``), e.g. ``dc7n7k5qmd2utq0s6i10``. These ids follow that layout: the
host bytes are drawn at random once per process and the counter starts at a random value, so ids
are unique per request and sort by time.
"""

from __future__ import annotations

import base64
import itertools
import os
import secrets
import time

REQUEST_ID_HEADER = "X-Toxiproxy-Request-Id"

_host = secrets.token_bytes(3)
_counter = itertools.count(secrets.randbelow(1 << 24))


def new_request_id() -> str:
    """A fresh id: 20 characters of ``[0-9a-v]``."""
    raw = (
        int(time.time()).to_bytes(4, "big")
        + _host
        + (os.getpid() & 0xFFFF).to_bytes(2, "big")
        + (next(_counter) & 0xFFFFFF).to_bytes(3, "big")
    )
    return base64.b32hexencode(raw).decode("ascii").rstrip("=").lower()
