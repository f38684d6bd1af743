"""A fake of the ``/v2`` service that ``locustfiles/adapters/renamed.py`` speaks, for its tests.

FastAPI on uvicorn, in a thread of the test process, on a free 127.0.0.1 port; everything is in
memory and gone when it stops. Its paths and bodies are the adapter's (see its module doc); what
it checks, like a real service would:

- devices: those of a registry file (the scenario's ``registry.csv``, written by
  ``sirekap-loadtest validate SCENARIO --registry FILE``); a login must name a device of the
  registry, its TPS and its secret (else 401). Tokens last ``token_ttl`` real seconds and are
  scoped to their TPS (a write to another TPS is 403);
- photos: idempotent by hash: the same bytes for a page again answer 200 with the stored copy
  (``disimpan`` unchanged), new bytes are stored as a new version (201); bytes that do not match
  ``X-Hash-Foto`` are refused (400, ``kode: HASH_TIDAK_COCOK``) and never stored;
- results: the ballot arithmetic (``scenarios.ballot_problems``: 422 with every broken rule),
  every listed photo uploaded for the form (else 409), and idempotency: the same
  ``X-Kunci-Idempotensi`` with the same numbers gets the same receipt (200), with other numbers
  409; other numbers under a new key are 409 unless ``versi`` is the stored revision + 1 (a
  correction); the numbers already stored, under any key, get their receipt (200);
- reads: the latest revision, the chart as a list ``perolehan: [{calon, suara}]`` and the
  administration as ``rekap``; nulls when nothing is stored; 404 for a TPS not in the registry
  or an unknown election. ``GET /healthz`` answers 200 (``run --target`` and ``check`` need it).

Test hooks: :meth:`Store.fail_next` (the next requests to ``/v2`` answer an error status),
:meth:`Store.expire_tokens`, and ``Store.requests`` (method and path of every request).

By hand: ``python -m tests.locustfiles.renamed_service --registry FILE [--port N]`` serves it
until Ctrl-C.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from scenarios import ResultBody, ballot_problems, read_registry

PAGES = {"ppwp": 3, "pdpr": 30, "pdpd": 30, "pdprdp": 30, "pdprdk": 30}  # pages per form at most
SHA256 = re.compile(r"[0-9a-f]{64}")
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Photo:
    sha256: str
    size: int
    stored_at: str


@dataclass(frozen=True)
class Revision:
    number: int
    suara: dict[str, int]
    administrasi: dict[str, int]
    foto: list[str]
    receipt: str
    content_hash: str
    stored_at: str

    def receipt_body(self) -> dict[str, Any]:
        return {"tanda_terima": self.receipt, "hash_isi": self.content_hash, "versi": self.number}


@dataclass
class Form:
    revisions: list[Revision] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)  # idempotency key -> revision number


@dataclass
class Store:
    """The service's state; every change under ``lock`` (the tests' hooks run in another thread)."""

    devices: dict[str, tuple[str, str]]  # device id -> (tps code, secret)
    dpt: dict[str, int]  # tps code -> DPT
    token_ttl: float = 3600.0
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # -> (tps, expires_at)
    photos: dict[tuple[str, str, int], list[Photo]] = field(default_factory=dict)
    forms: dict[tuple[str, str], Form] = field(default_factory=dict)
    failures: list[tuple[int, str | None]] = field(default_factory=list)  # (status, Retry-After)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def from_registry(cls, path: Path, token_ttl: float = 3600.0) -> Store:
        rows = read_registry(path)
        devices = {row.device_id: (row.tps_code, row.secret) for row in rows}
        return cls(devices, {row.tps_code: row.dpt for row in rows}, token_ttl)

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        """The next ``count`` requests to /v2 answer ``status`` (with Retry-After if given)."""
        with self.lock:
            self.failures.extend([(status, retry_after)] * count)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def stamp(self) -> str:
        return f"2024-02-14T12:00:00.{next(self.counter):06d}+00:00"


def refusal(status: int, message: str, code: str = "", **headers: str) -> JSONResponse:
    body = {"pesan": message, **({"kode": code} if code else {})}
    return JSONResponse(body, status, headers=headers or None)


def content_hash(suara: dict[str, int], administrasi: dict[str, int]) -> str:
    text = json.dumps({"administrasi": administrasi, "suara": suara}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _counts(value: object) -> dict[str, int] | None:
    """A ``{name: whole number}`` object, else None."""
    if not isinstance(value, dict):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        return None
    return value


def make_app(store: Store) -> FastAPI:
    app = FastAPI(title="renamed /v2 service (test fake)", docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def log_and_fail(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        with store.lock:
            store.requests.append((request.method, request.url.path))
            injected = store.failures.pop(0) if store.failures and _is_v2(request) else None
        if injected is not None:
            status, retry_after = injected
            extra = {"Retry-After": retry_after} if retry_after else {}
            return refusal(status, "gangguan buatan (uji)", "GANGGUAN", **extra)
        return await call_next(request)

    def tps_of(request: Request) -> str | None:
        """The TPS of a valid bearer token, else None."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        entry = store.tokens.get(token) if scheme == "Bearer" else None
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def form_checks(request: Request, tps: str, election: str) -> JSONResponse | None:
        if tps not in store.dpt or election not in PAGES:
            return refusal(404, f"formulir {tps}/{election} tidak ada", "TIDAK_ADA")
        owner = tps_of(request)
        if owner is None:
            return refusal(401, "token tidak dikenal atau kedaluwarsa; masuk lagi", "TOKEN")
        if owner != tps:
            return refusal(403, f"token ini untuk TPS {owner}, bukan {tps}", "BUKAN_TPS_INI")
        return None

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v2/auth")
    async def auth(request: Request) -> Response:
        body = await _json(request)
        device, tps, secret = (body.get(k) for k in ("perangkat", "kode_tps", "kunci"))
        if not all(isinstance(v, str) for v in (device, tps, secret)):
            return refusal(422, "perlu perangkat, kode_tps dan kunci (teks)", "BENTUK")
        if store.devices.get(str(device)) != (tps, secret):
            return refusal(401, "perangkat, TPS atau kunci salah", "KREDENSIAL")
        with store.lock:
            token = hashlib.sha256(f"{device}/{next(store.counter)}".encode()).hexdigest()[:32]
            store.tokens[token] = (str(tps), time.monotonic() + store.token_ttl)
        return JSONResponse({"akses": token, "berlaku": store.token_ttl}, 200)

    @app.put("/v2/formulir/{tps}/{election}/foto/{page}")
    async def photo(request: Request, tps: str, election: str, page: int) -> Response:
        refused = form_checks(request, tps, election)
        if refused is not None:
            return refused
        if not 1 <= page <= PAGES[election]:
            return refusal(404, f"halaman {page} tidak ada (1-{PAGES[election]})", "TIDAK_ADA")
        claimed = request.headers.get("X-Hash-Foto", "")
        if not SHA256.fullmatch(claimed):
            return refusal(400, "X-Hash-Foto harus SHA-256 (64 hex kecil)", "HASH_SALAH")
        data = await request.body()
        if not data:
            return refusal(400, "foto kosong", "FOTO_KOSONG")
        if hashlib.sha256(data).hexdigest() != claimed:
            return refusal(400, "isi foto tidak cocok dengan X-Hash-Foto", "HASH_TIDAK_COCOK")
        with store.lock:
            versions = store.photos.setdefault((tps, election, page), [])
            same = [p for p in versions if p.sha256 == claimed]
            if same:
                stored, status = same[0], 200
            else:
                stored, status = Photo(claimed, len(data), store.stamp()), 201
                versions.append(stored)
        body = {"hash": stored.sha256, "ukuran": stored.size, "disimpan": stored.stored_at}
        return JSONResponse(body, status)

    @app.put("/v2/formulir/{tps}/{election}")
    async def result(request: Request, tps: str, election: str) -> Response:
        refused = form_checks(request, tps, election)
        if refused is not None:
            return refused
        key = request.headers.get("X-Kunci-Idempotensi", "")
        if not key:
            return refusal(400, "perlu X-Kunci-Idempotensi", "TANPA_KUNCI")
        body = await _json(request)
        suara, administrasi = _counts(body.get("suara")), _counts(body.get("administrasi"))
        foto, versi = body.get("foto"), body.get("versi")
        if suara is None or administrasi is None or not isinstance(foto, list):
            return refusal(422, "perlu suara, administrasi (angka) dan foto (daftar)", "BENTUK")
        if versi is not None and (not isinstance(versi, int) or isinstance(versi, bool)):
            return refusal(422, "versi harus bilangan bulat", "BENTUK")
        numbers: ResultBody = {"chart": suara, "administrasi": administrasi}
        try:
            problems = ballot_problems(numbers, store.dpt[tps])
        except KeyError as missing:
            return refusal(422, f"administrasi.{missing.args[0]} tidak ada", "ARITMETIKA")
        if problems:
            return refusal(422, "; ".join(problems), "ARITMETIKA")
        with store.lock:
            uploaded = {
                p.sha256 for (t, e, _), ps in store.photos.items() if (t, e) == (tps, election)
                for p in ps
            }  # fmt: skip
            if not set(foto) <= uploaded:
                return refusal(409, "ada foto yang belum diunggah untuk formulir ini", "FOTO")
            return _store_result(store, store.forms.setdefault((tps, election), Form()), key, {
                "suara": suara, "administrasi": administrasi, "foto": foto, "versi": versi,
            })  # fmt: skip

    @app.get("/v2/formulir/{tps}/{election}")
    async def read(tps: str, election: str) -> Response:
        if tps not in store.dpt or election not in PAGES:
            return refusal(404, f"formulir {tps}/{election} tidak ada", "TIDAK_ADA")
        with store.lock:
            form = store.forms.get((tps, election))
            latest = form.revisions[-1] if form and form.revisions else None
        body: dict[str, Any] = {"kode_tps": tps, "pemilihan": election}
        if latest is None:
            empty = ("perolehan", "rekap", "hash_isi", "versi", "tanda_terima")
            return JSONResponse({**body, **dict.fromkeys(empty), "foto": []})
        perolehan = [{"calon": c, "suara": n} for c, n in sorted(latest.suara.items())]
        body |= {"perolehan": perolehan, "rekap": latest.administrasi, "foto": latest.foto}
        return JSONResponse(body | latest.receipt_body() | {"disimpan": latest.stored_at})

    return app


def _store_result(store: Store, form: Form, key: str, sent: dict[str, Any]) -> JSONResponse:
    """The idempotency rules of the module doc (``store.lock`` held)."""
    digest = content_hash(sent["suara"], sent["administrasi"])
    if key in form.keys:
        earlier = form.revisions[form.keys[key] - 1]
        if earlier.content_hash != digest:
            return refusal(409, "kunci ini sudah dipakai untuk isi lain", "KUNCI_DIPAKAI")
        return JSONResponse(earlier.receipt_body(), 200)
    latest = form.revisions[-1] if form.revisions else None
    if latest is not None and latest.content_hash == digest:
        form.keys[key] = latest.number
        return JSONResponse(latest.receipt_body(), 200)
    expected = 1 if latest is None else latest.number + 1
    versi = sent["versi"]
    if latest is not None and versi is None:
        return refusal(
            409, f"hasil lain tersimpan (versi {latest.number}); koreksi dengan versi {expected}",
            "HASIL_LAIN",
        )  # fmt: skip
    if versi not in (None, expected):
        return refusal(409, f"versi harus {expected}", "VERSI")
    number = next(store.counter)
    revision = Revision(
        expected, sent["suara"], sent["administrasi"], list(sent["foto"]), f"TT-{number:06d}",
        digest, store.stamp(),
    )  # fmt: skip
    form.revisions.append(revision)
    form.keys[key] = revision.number
    return JSONResponse(revision.receipt_body(), 201)


def _is_v2(request: Request) -> bool:
    return request.url.path.startswith("/v2/")


async def _json(request: Request) -> dict[str, Any]:
    try:
        parsed = json.loads(await request.body())
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


@dataclass
class RunningService:
    url: str
    store: Store


def _server(store: Store) -> uvicorn.Server:
    config = uvicorn.Config(
        make_app(store), log_level="warning", access_log=False, lifespan="off", ws="none"
    )
    return uvicorn.Server(config)


@contextmanager
def renamed_service(registry: Path, *, token_ttl: float = 3600.0) -> Iterator[RunningService]:
    """The fake on a free 127.0.0.1 port in a thread; stopped at the end."""
    store = Store.from_registry(registry, token_ttl)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = _server(store)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the fake /v2 service did not start in {START_TIMEOUT_S} s")
            time.sleep(0.02)
        yield RunningService(f"http://127.0.0.1:{sock.getsockname()[1]}", store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.locustfiles.renamed_service")
    parser.add_argument("--registry", type=Path, required=True, help="the scenario's registry")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, s")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", args.port))
    print(f"the fake /v2 service: http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    _server(Store.from_registry(args.registry, args.token_ttl)).run(sockets=[sock])


if __name__ == "__main__":
    main()
