"""The endpoint names every part records and reads: timeline cells, SLO scopes, capacity models,
server-fault scopes, charts. Defined once, as the type a scenario file is validated against.

    session   POST /api/v1/sessions: a device logs in
    page      PUT .../pages/{n}: a page photo
    result    PUT .../result: the vote counts
    read      GET /api/v1/tps/...: a form read back
    recap     GET /api/v1/recap/...: a region's aggregate
    plenary   the PPK plenary's routes

The mock and the fault layer stand alone and name what they serve themselves; everything else
imports these.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Endpoint = Literal["session", "page", "result", "read", "recap", "plenary"]

ALL: Final[tuple[Endpoint, ...]] = get_args(Endpoint)  # every endpoint the mock serves
SESSION, PAGE, RESULT, READ, RECAP, PLENARY = ALL
# what a KPPS device calls, in API order; the upload path
DEVICE: Final[tuple[str, ...]] = (SESSION, PAGE, RESULT, READ)
UPLOAD: Final[tuple[str, ...]] = (SESSION, PAGE, RESULT)
