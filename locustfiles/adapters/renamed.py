"""An example adapter: the devices' four calls for a service whose paths and field names differ.

``--api-class locustfiles.adapters.renamed:RenamedApi``. The (hypothetical) service speaks:

=================================================  ===============================================
request                                            answers
=================================================  ===============================================
``POST /v2/auth``                                  200 ``{akses, berlaku}`` (token, seconds);
``{perangkat, kode_tps, kunci}``                   401 unknown device or wrong secret
``PUT /v2/formulir/{tps}/{election}/foto/{n}``     201 ``{hash, ukuran}`` stored, 200 the same
photo bytes, hash in ``X-Hash-Foto`` (n from 1)    photo again; 400 ``kode: HASH_TIDAK_COCOK``
                                                   when the bytes do not match the hash
``PUT /v2/formulir/{tps}/{election}``              201 ``{tanda_terima, hash_isi, versi}``, 200
``{suara, administrasi, foto, versi?}``,           the same receipt for a replay; 409 another
``X-Kunci-Idempotensi``                            result is stored; 422 the ballot arithmetic
``GET /v2/formulir/{tps}/{election}``              200 ``{perolehan: [{calon, suara}], rekap,
                                                   hash_isi, versi, tanda_terima, foto}`` (null
                                                   numbers when nothing is stored)
=================================================  ===============================================

Writes carry ``Authorization: Bearer <akses>``; refusals are ``{"pesan": ..., "kode": ...}``.

What the adapter does, and what every adapter does: each method sends exactly one request through
the :class:`~locustfiles.api.Transport` it was built with (under the endpoint names ``session``,
``page``, ``result``, ``read``, which the timeline and the SLOs use), judges the status with
:func:`locustfiles.api.judge` (so 401 means log in again, 408/425/429/5xx and transport failures
mean retry, other 4xx mean refused), and on success puts the contract's names in
``Answer.data``: ``token``/``expires_in``, ``sha256``, ``receipt_id``/``content_sha256``/
``revision``, and for a read ``chart``/``administrasi`` in the shape the devices sent them (the
audit hashes exactly those two), with ``content_sha256``/``revision``/``receipt_id`` when the
service says. A success whose body lacks a field is judged cut off (retry, ``truncated``), as
``SirekapApi`` does.

It has no PPK operator methods (``operator_login``, ``submit_plenary``, ``plenary_progress``): a
scenario with a ``[plenary]`` is refused when Locust starts (``check_plenary_api`` in
``locustfiles/options.py`` names them) until an adapter adds them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from locustfiles.api import (
    Answer,
    Response,
    Timeouts,
    Transport,
    Verdict,
    json_object,
    judge,
    send_json,
)
from rundir.failures import TRUNCATED

HASH_HEADER = "X-Hash-Foto"
KEY_HEADER = "X-Kunci-Idempotensi"
DAMAGED_PHOTO = "HASH_TIDAK_COCOK"  # the service's code for bytes that do not match their hash
# the service's names -> the contract's (what Answer.data carries)
SESSION = {"akses": "token", "berlaku": "expires_in"}
STORED_PAGE = {"hash": "sha256"}
RECEIPT = {"tanda_terima": "receipt_id", "hash_isi": "content_sha256", "versi": "revision"}
STORED_FORM = {"perolehan": "chart", "rekap": "administrasi"}


class RenamedApi:
    """The device calls of :class:`locustfiles.api.SirekapApi`, on the ``/v2`` service above."""

    def __init__(self, transport: Transport, timeouts: Timeouts) -> None:
        self.transport = transport
        self.timeouts = timeouts

    def login(self, tps_code: str, device_id: str, secret: str) -> Answer:
        """POST /v2/auth -> data: token, expires_in (real seconds)."""
        body = {"perangkat": device_id, "kode_tps": tps_code, "kunci": secret}
        response = send_json(
            self.transport, "session", "POST", "/v2/auth", body, {}, self.timeouts.session
        )
        answer = _judged(response, login=True)
        if not answer.ok:
            return answer
        return _renamed(answer, response, SESSION)

    def upload_page(
        self, token: str, tps_code: str, election: str, page: int, photo: bytes, sha256: str
    ) -> Answer:
        """PUT one page photo (``page`` 0-based; the service counts from 1) -> data: sha256."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            HASH_HEADER: sha256,
        }
        path = f"/v2/formulir/{tps_code}/{election}/foto/{page + 1}"
        response = self.transport.send(
            "page", "PUT", path, body=photo, headers=headers, timeout=self.timeouts.page
        )
        answer = _judged(response)
        if answer.verdict is Verdict.REJECT and _body(response).get("kode") == DAMAGED_PHOTO:
            answer.verdict = Verdict.RETRY  # damaged on the way: a device sends it again
        if not answer.ok:
            return answer
        return _renamed(answer, response, STORED_PAGE)

    def submit_result(
        self,
        token: str,
        tps_code: str,
        election: str,
        result: Mapping[str, Any],
        pages: Sequence[str],
        idempotency_key: str,
        revision: int | None = None,
    ) -> Answer:
        """PUT the form's numbers -> data: receipt_id, content_sha256, revision.

        ``revision`` n+1 (``versi`` on the wire) makes it a correction of the stored revision n.
        """
        body: dict[str, Any] = {
            "suara": result["chart"],
            "administrasi": result["administrasi"],
            "foto": list(pages),
        }
        if revision is not None:
            body["versi"] = revision
        headers = {"Authorization": f"Bearer {token}", KEY_HEADER: idempotency_key}
        path = f"/v2/formulir/{tps_code}/{election}"
        response = send_json(
            self.transport, "result", "PUT", path, body, headers, self.timeouts.result
        )
        answer = _judged(response)
        if not answer.ok:
            return answer
        return _renamed(answer, response, RECEIPT)

    def read_result(self, tps_code: str, election: str) -> Answer:
        """GET the stored form -> data: chart, administrasi (None when nothing is stored), and
        content_sha256, revision, receipt_id as the service says them."""
        path = f"/v2/formulir/{tps_code}/{election}"
        response = self.transport.send(
            "read", "GET", path, body=None, headers={}, timeout=self.timeouts.read
        )
        answer = _judged(response)
        if not answer.ok:
            return answer
        answer = _renamed(answer, response, STORED_FORM, RECEIPT)  # the receipt if it says
        if not answer.ok or answer.data["chart"] is None:
            return answer
        chart = _chart(answer.data["chart"])
        if chart is None:
            return _cut_off(response, "perolehan is not a list of {calon, suara}")
        answer.data["chart"] = chart
        return answer


def _judged(response: Response, *, login: bool = False) -> Answer:
    """:func:`locustfiles.api.judge`, with the service's own ``pesan`` as the detail."""
    answer = judge(response, login=login)
    message = _body(response).get("pesan") if response.status >= 400 else None
    if isinstance(message, str):
        answer.detail = f"HTTP {response.status}: {message}"[:300]
    return answer


def _body(response: Response) -> dict[str, Any]:
    """The body as a JSON object ({} if it is not one)."""
    return json_object(response.content)


def _renamed(
    answer: Answer,
    response: Response,
    required: Mapping[str, str],
    optional: Mapping[str, str] | None = None,
) -> Answer:
    """``answer`` with ``data`` = the body's fields under the contract's names (wire -> contract);
    a body without a required one was cut off."""
    try:
        parsed = json.loads(response.content)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return _cut_off(response, "not a JSON object")
    missing = [wire for wire in required if wire not in parsed]
    if missing:
        return _cut_off(response, f"no {', '.join(missing)}")
    names = {**required, **(optional or {})}
    answer.data = {contract: parsed.get(wire) for wire, contract in names.items()}
    return answer


def _cut_off(response: Response, shown: str) -> Answer:
    detail = f"HTTP {response.status}: body has {shown}"
    return Answer(Verdict.RETRY, TRUNCATED, detail, status=response.status)


def _chart(rows: object) -> dict[str, Any] | None:
    """``[{calon, suara}, ...]`` as the devices' ``{candidate: votes}``; None if malformed."""
    if not isinstance(rows, list):
        return None
    chart: dict[str, Any] = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("calon"), str) or "suara" not in row:
            return None
        chart[row["calon"]] = row["suara"]
    return chart
