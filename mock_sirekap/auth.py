"""Session tokens of devices (scoped to one TPS) and PPK operators (scoped to one kecamatan), and
the admin token check.

Tokens are signed, not stored: HMAC-SHA256 over TPS, device and expiry (operators: kecamatan,
operator and expiry) with a key kept in the database, so they hold across restarts and across the
processes of a ``--workers N`` mock. Operator tokens are signed with a key derived for them alone,
so a device token is never an operator token or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from mock_sirekap.storage import Connection


class AuthError(Exception):
    """Bad or missing credentials: ``status`` is 401 or 403, the message says what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class DeviceSession:
    tps_code: str
    device_id: str
    expires: int


def signing_key(conn: Connection) -> bytes:
    """The token key of this database, created on first use by whichever process is first."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('token_key', ?) ON CONFLICT DO NOTHING",
        (secrets.token_hex(32),),
    )
    row = conn.execute("SELECT value FROM meta WHERE key = 'token_key'").fetchone()
    return bytes.fromhex(row[0])


class TokenSigner:
    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        self._key = key
        self.ttl = ttl_seconds

    def issue(self, tps_code: str, device_id: str) -> str:
        expires = int(time.time()) + self.ttl
        payload = f"{tps_code}|{device_id}|{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def verify(self, authorization: str | None) -> DeviceSession:
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError(401, "missing device token: send Authorization: Bearer <token>")
        token = authorization[len("Bearer ") :].strip()
        try:
            payload_text, signature_text = token.split(".", 1)
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
            tps_code, device_id, expires_text = payload.decode().split("|")
            expires = int(expires_text)
        except ValueError:
            raise AuthError(401, "malformed device token: log in again") from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise AuthError(401, "invalid device token: log in again")
        if expires < time.time():
            raise AuthError(401, "device token expired: log in again")
        return DeviceSession(tps_code, device_id, expires)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:24]


@dataclass(frozen=True, slots=True)
class OperatorSession:
    kecamatan_code: str
    operator_id: str
    expires: int

    @property
    def expires_at(self) -> str:
        return datetime.fromtimestamp(self.expires, UTC).isoformat()


class OperatorSigner:
    """Tokens of PPK operators, scoped to one kecamatan."""

    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        self._key = hmac.new(key, b"operator-token", hashlib.sha256).digest()
        self.ttl = ttl_seconds

    def issue(self, kecamatan_code: str, operator_id: str) -> tuple[str, OperatorSession]:
        session = OperatorSession(kecamatan_code, operator_id, int(time.time()) + self.ttl)
        payload = f"ppk|{kecamatan_code}|{session.expires}|{operator_id}".encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}", session

    def verify(self, authorization: str | None) -> OperatorSession:
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError(
                401,
                "missing operator token: send Authorization: Bearer <token>, the token from "
                "POST /api/v1/operators/sessions",
            )
        token = authorization[len("Bearer ") :].strip()
        try:
            payload_text, signature_text = token.split(".", 1)
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
            tag, kecamatan_code, expires_text, operator_id = payload.decode().split("|", 3)
            expires = int(expires_text)
            if tag != "ppk":
                raise ValueError(tag)
        except ValueError:
            raise AuthError(401, "malformed operator token: log in again") from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise AuthError(401, "invalid operator token: log in again")
        if expires < time.time():
            raise AuthError(401, "operator token expired: log in again")
        return OperatorSession(kecamatan_code, operator_id, expires)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:24]


def is_admin(authorization: str | None, admin_token: str) -> bool:
    """True when the header carries the admin token (constant time)."""
    if not authorization or not authorization.startswith("Bearer "):
        return False
    given = authorization[len("Bearer ") :].strip().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(given, admin_token.encode())


def check_admin(authorization: str | None, admin_token: str) -> None:
    if not authorization or not authorization.startswith("Bearer "):
        raise AuthError(401, "missing admin token: send Authorization: Bearer <admin token>")
    given = authorization[len("Bearer ") :].strip().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(given, admin_token.encode()):
        raise AuthError(403, "wrong admin token")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from exc
