"""A small stand-in for a user's upload service that lacks idempotency, for preflight tests.

It speaks the mock's paths and bodies (login, page PUT, result PUT, read) but stores every PUT
anew: each answer is 201 with a new ``stored_at`` or receipt, so a repeat looks like a new upload.
With ``idempotent_pages`` a repeated photo gets its first answer (200), so the result check is
reached; with ``arithmetic`` a result whose candidate votes do not add up to ``suara_sah`` gets
422. Every request is counted with its method, path and User-Agent.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from locustfiles.api import SirekapApi


@dataclass
class FakeService:
    url: str = ""
    idempotent_pages: bool = False
    arithmetic: bool = False
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, agent
    pages: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, sha) -> stored_at
    counter: Iterator[int] = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _count(self) -> bytes:
            with service.lock:
                service.requests.append(
                    (self.command, self.path, self.headers.get("User-Agent", ""))
                )
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            self._count()
            if self.path == "/healthz":
                self._answer(200, {"status": "ok"})
            else:
                self._answer(404, {"error": "not here", "status": 404})

        def do_POST(self) -> None:
            self._count()
            self._answer(201, {"token": "t", "expires_in": 3600})

        def do_PUT(self) -> None:
            body = self._count()
            with service.lock:
                number = next(service.counter)
            stamp = f"2024-02-14T12:00:{number:02d}.000+00:00"
            if "/pages/" in self.path:
                sha = self.headers.get("X-Content-SHA256", "")
                key = (self.path, sha)
                if service.idempotent_pages and key in service.pages:
                    self._answer(200, {"sha256": sha, "stored_at": service.pages[key]})
                    return
                service.pages[key] = stamp
                self._answer(201, {"sha256": sha, "size": len(body), "stored_at": stamp})
                return
            result = json.loads(body)
            adds_up = sum(result["chart"].values()) == result["administrasi"]["suara_sah"]
            if service.arithmetic and not adds_up:
                self._answer(422, {"error": "sum(chart) != suara_sah", "status": 422})
                return
            receipt = {"receipt_id": f"r{number}", "content_sha256": "c", "revision": 1}
            self._answer(201, {**receipt, "stored_at": stamp})

    return Handler


@contextmanager
def fake_service(
    *, idempotent_pages: bool = False, arithmetic: bool = False
) -> Iterator[FakeService]:
    """The fake on a free 127.0.0.1 port, stopped at the end."""
    service = FakeService(idempotent_pages=idempotent_pages, arithmetic=arithmetic)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class AdapterApi(SirekapApi):
    """An ``--api-class`` adapter as a user would write one (here: the mock's API unchanged)."""
