"""A :class:`locustfiles.api.Transport` on the standard library's HTTP client, without Locust.

For the requests made outside Locust (the preflight, ``locustfiles.preflight``; the read-back
audit, ``locustfiles.readback``), which must not monkey-patch the standard library as Locust and
gevent do. One connection per request, closed after it, so threads may share one transport; the
socket timeout bounds every step of the exchange (connect, send, each read). Failures are judged
by :mod:`rundir.failures` as the load generator's are, and the last response is kept for checks
that look past the API class's judgement (status, body): the preflight's, which sends one request
at a time.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from locustfiles.api import Response
from rundir.failures import describe, http_failure, transport_failure

USER_AGENT = "sirekap-loadtest"


class PlainTransport:
    """Sends each request on a connection of its own to ``base_url`` (its path is a prefix)."""

    def __init__(self, base_url: str, user_agent: str = USER_AGENT) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"got {base_url!r}; must be an http:// or https:// URL")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.user_agent = user_agent
        self.last: Response | None = None
        self.sent = 0

    def send(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> Response:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        connection = kind(self.host, self.port, timeout=timeout)
        headers = {**headers, "User-Agent": self.user_agent, "Connection": "close"}
        self.sent += 1
        try:
            connection.request(method, self.prefix + path, body=body, headers=headers)
            reply = connection.getresponse()
            content = reply.read()
            response = Response(
                reply.status, http_failure(reply.status), content, reply.getheader("Retry-After")
            )
        except (OSError, http.client.HTTPException) as error:
            response = Response(0, transport_failure(error), error=describe(error))
        finally:
            connection.close()
        response.finished_at = time.time()
        self.last = response
        return response
