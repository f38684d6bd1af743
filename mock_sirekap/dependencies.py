"""FastAPI dependencies of the routes: the process's state, and who the caller is.

A route declares what it needs as parameters (``Mock``, ``Device``, ``OperatorKecamatan``, ...)
and FastAPI resolves them, in the order the route lists them, before the route runs; a refusal
(401, 403, 404 in the error shape of ``errors``) ends the request there.

No route that needs a token declares its body as a parameter: FastAPI reads a declared body before
it resolves any dependency. Those routes read their body themselves, from the request stream, once
these dependencies have passed (``json_body.read_json``, ``photos.receive_photo``): nothing is read
for a caller who is not authorised.

- ``Mock``: the ``MockState`` of this server process (``app.state.mock``, set by ``create_app``).
- ``Device``: a device token scoped to the TPS of the path, for a known election.
- ``Operator``: an operator token of a listed operator; ``OperatorKecamatan``: the kecamatan of
  the path, for an operator of it; ``plenary_tps``: a TPS of that kecamatan; ``ViewedKecamatan``:
  the kecamatan of the path, for an operator of it or the admin.
- ``require_admin``: the admin token.

A hot route (a page upload, a result) can resolve its parameters itself: ``DirectRoute`` with
``@resolved_by(handler)``. FastAPI still builds the OpenAPI document and its checks from the
declared signature, but each request runs ``handler(request)``, which calls the same dependency
functions and then the endpoint. FastAPI's per-request dependency solving was the largest part
of the mock's own CPU per durable write (bench/bench_mock.py); the answers are the same. In the
app, ``hot_paths`` hands those two routes' requests to the same handlers before the router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Header, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from mock_sirekap.auth import AuthError, DeviceSession, OperatorSession, check_admin, is_admin
from mock_sirekap.elections import election_error
from mock_sirekap.errors import ApiError
from mock_sirekap.state import MockState

Session = TypeVar("Session")
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
DirectHandler = Callable[[Request], Awaitable[Response]]
_DIRECT = "_resolved_by"


def resolved_by(handler: DirectHandler) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint of a ``DirectRoute`` router: each request runs ``handler(request)``,
    which resolves the endpoint's parameters (with the same dependency functions) and calls it.
    Put it below the route decorator: the route reads it when it is made."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _DIRECT, handler)
        return endpoint

    return mark


class DirectRoute(APIRoute):
    """A route that runs its endpoint's ``resolved_by`` handler when it has one (see the module
    doc); any other endpoint is served by FastAPI as usual."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = getattr(self.endpoint, _DIRECT, None)
        return handler if handler is not None else super().get_route_handler()


# The header every route with a token reads (its name and schema are part of the OpenAPI).
Authorization = Annotated[str | None, Header()]


async def mock_state(request: Request) -> MockState:
    """The state of this server process, as ``create_app`` left it on the app."""
    return cast(MockState, request.app.state.mock)


Mock = Annotated[MockState, Depends(mock_state)]


def _verified(verify: Callable[[str | None], Session], authorization: str | None) -> Session:
    """``verify(authorization)``, its AuthError (401 or 403) turned into an API error."""
    try:
        return verify(authorization)
    except AuthError as exc:
        raise ApiError(exc.status, str(exc)) from None


def _require_known_election(election: str) -> None:
    problem = election_error(election)
    if problem:
        raise ApiError(404, problem)


async def device_session(
    tps_code: str, election: str, mock: Mock, authorization: Authorization = None
) -> DeviceSession:
    """The device token of the request, scoped to the TPS of the path; 404 for an unknown
    election once the token is accepted."""
    session = _verified(mock.signer.verify, authorization)
    if session.tps_code != tps_code:
        raise ApiError(
            403, f"token is scoped to TPS {session.tps_code}; it cannot write to TPS {tps_code}"
        )
    if mock.registry.device_tps.get(session.device_id) != tps_code:
        # Signed before a restart with another registry: the key holds, the TPS may not.
        raise ApiError(
            401,
            f"device token names device {session.device_id!r} of TPS {tps_code}, which this "
            "server's registry does not list: log in again with a registered device",
        )
    _require_known_election(election)
    return session


Device = Annotated[DeviceSession, Depends(device_session)]


async def operator_session(mock: Mock, authorization: Authorization = None) -> OperatorSession:
    """The operator token of the request, of an operator this server lists."""
    session = _verified(mock.operator_signer.verify, authorization)
    listed = mock.operators.by_id.get(session.operator_id)
    if listed is None or listed.kecamatan_code != session.kecamatan_code:
        # Signed before a restart with other operators: the key holds, the account may not.
        raise ApiError(
            401,
            f"operator token names operator {session.operator_id!r} of kecamatan "
            f"{session.kecamatan_code}, which this server does not list: log in again",
        )
    return session


Operator = Annotated[OperatorSession, Depends(operator_session)]


async def progress_viewer(
    mock: Mock, authorization: Authorization = None
) -> OperatorSession | None:
    """The operator token of the request, or None for the admin token."""
    if is_admin(authorization, mock.config.admin_token):
        return None
    if not authorization:
        raise ApiError(
            401,
            "missing token: send Authorization: Bearer <token> with an operator token "
            "of this kecamatan or the admin token",
        )
    return await operator_session(mock, authorization)


async def kecamatan_tps(kecamatan_code: str, election: str, mock: Mock) -> tuple[str, ...]:
    """The TPS codes of the kecamatan of the path; 404 for an unknown kecamatan or election."""
    tps_codes = mock.kecamatan.get(kecamatan_code)
    if tps_codes is None:
        raise ApiError(
            404,
            f"unknown kecamatan {kecamatan_code!r}: give the 6-digit code of a kecamatan "
            "with TPS in this server's registry",
        )
    _require_known_election(election)
    return tps_codes


@dataclass(frozen=True, slots=True)
class Kecamatan:
    """A kecamatan of the registry and a known election, as the caller may see or act on it."""

    code: str
    election: str
    tps_codes: tuple[str, ...]


def _require_scope(session: OperatorSession, kecamatan_code: str) -> None:
    if session.kecamatan_code != kecamatan_code:
        raise ApiError(
            403,
            f"token is scoped to kecamatan {session.kecamatan_code}; it cannot act on "
            f"kecamatan {kecamatan_code}",
        )


async def operator_kecamatan(
    kecamatan_code: str,
    election: str,
    session: Operator,
    tps_codes: Annotated[tuple[str, ...], Depends(kecamatan_tps)],
) -> Kecamatan:
    """The kecamatan of the path, for an operator of that kecamatan (401, then 404, then 403)."""
    _require_scope(session, kecamatan_code)
    return Kecamatan(kecamatan_code, election, tps_codes)


OperatorKecamatan = Annotated[Kecamatan, Depends(operator_kecamatan)]


async def viewed_kecamatan(
    kecamatan_code: str,
    election: str,
    viewer: Annotated[OperatorSession | None, Depends(progress_viewer)],
    tps_codes: Annotated[tuple[str, ...], Depends(kecamatan_tps)],
) -> Kecamatan:
    """The kecamatan of the path, for an operator of that kecamatan or the admin."""
    if viewer is not None:
        _require_scope(viewer, kecamatan_code)
    return Kecamatan(kecamatan_code, election, tps_codes)


ViewedKecamatan = Annotated[Kecamatan, Depends(viewed_kecamatan)]


async def plenary_tps(tps_code: str, kecamatan: OperatorKecamatan) -> str:
    """The TPS of the path; 403 unless the registry lists it in the operator's kecamatan."""
    if tps_code not in kecamatan.tps_codes:
        raise ApiError(
            403,
            f"TPS {tps_code!r} is not in kecamatan {kecamatan.code}: its plenary takes only "
            f"the {len(kecamatan.tps_codes)} TPS the registry lists there",
        )
    return tps_code


async def require_admin(mock: Mock, authorization: Authorization = None) -> None:
    """The admin token (401 when missing, 403 when wrong)."""
    _verified(lambda given: check_admin(given, mock.config.admin_token), authorization)
