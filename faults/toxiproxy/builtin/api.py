"""The Toxiproxy 2.12 HTTP API of the built-in server: routes, JSON shapes and status codes.

201 proxy created, 200 toxic created, 204 deletes and reset; errors as ``{"error", "status"}``
with 400, 404, 409 (and 500 for a listen address that cannot be bound). As the real server's
router answers: a path that is not clean (``//proxies``, ``/a/../proxies``) is redirected (301) to
its clean form, an unknown path is 404 and a known path with another method 405. Every request a
route matches, errors and the 403 for browsers included, is answered with a unique
``X-Toxiproxy-Request-Id``; the router's own 301, 404 and 405 carry none, as in Toxiproxy.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from faults.toxiproxy.builtin.http import Request, Response
from faults.toxiproxy.builtin.proxy import DEFAULT_LISTEN, ProxyRuntime, resolve_listen
from faults.toxiproxy.builtin.request_id import REQUEST_ID_HEADER, new_request_id
from faults.toxiproxy.builtin.state import (
    PROXY_EXISTS,
    PROXY_NOT_FOUND,
    TOXIC_EXISTS,
    TOXIC_NOT_FOUND,
    ApiError,
    bad_body,
    decode_array,
    decode_object,
    dump,
    get_bool,
    get_number,
    get_str,
    merged_attributes,
    missing_field,
    new_toxic,
)

VERSION = "2.12.0+builtin"

Route = Callable[[Request, dict[str, str]], Awaitable[Response]]


def _json(status: int, value: Any) -> Response:
    return Response(status, dump(value))


def _plain_error(status: int, text: str) -> Response:
    """What Go's ``http.Error`` writes: the text and a newline, as plain text, not sniffable."""
    return Response(
        status,
        f"{text}\n".encode(),
        "text/plain; charset=utf-8",
        {"X-Content-Type-Options": "nosniff"},
    )


def _error(exc: ApiError) -> Response:
    return _plain_error(exc.status, dump(exc.to_json()).decode())


def clean_path(path: str) -> str:
    """The path the real server's router matches: Go's ``path.Clean``, keeping a trailing slash."""
    if not path:
        return "/"
    cleaned = posixpath.normpath("/" + path.lstrip("/"))
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


class ToxiproxyApi:
    """The proxies of one server and the handlers of its API."""

    def __init__(self) -> None:
        self.proxies: dict[str, ProxyRuntime] = {}
        self._routes: list[tuple[re.Pattern[str], dict[str, Route]]] = [
            (re.compile(r"/reset"), {"POST": self.reset}),
            (re.compile(r"/version"), {"GET": self.version}),
            (re.compile(r"/populate"), {"POST": self.populate}),
            (re.compile(r"/proxies"), {"GET": self.proxy_index, "POST": self.proxy_create}),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)"),
                {
                    "GET": self.proxy_show,
                    "POST": self.proxy_update,
                    "PATCH": self.proxy_update,
                    "DELETE": self.proxy_delete,
                },
            ),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics"),
                {"GET": self.toxic_index, "POST": self.toxic_create},
            ),
            (
                re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics/(?P<toxic>[^/]+)"),
                {
                    "GET": self.toxic_show,
                    "POST": self.toxic_update,
                    "PATCH": self.toxic_update,
                    "DELETE": self.toxic_delete,
                },
            ),
        ]

    async def handle(self, request: Request) -> Response:
        raw_path, _, query = request.target.partition("?")  # origin form: "//x" is a path
        if not raw_path.startswith("/"):  # absolute form: http://host/path
            parts = urlsplit(request.target)
            raw_path, query = parts.path, parts.query
        path = unquote(raw_path)
        cleaned = clean_path(path)
        if cleaned != path:
            location = quote(cleaned) + (f"?{query}" if query else "")
            return Response(301, b"", None, {"Location": location})
        for pattern, methods in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            route = methods.get(request.method)
            if route is None:
                return Response(405, b"", None)
            response = await self._matched(request, route, match.groupdict())
            response.headers[REQUEST_ID_HEADER] = new_request_id()
            return response
        return _plain_error(404, "404 page not found")

    async def _matched(self, request: Request, route: Route, params: dict[str, str]) -> Response:
        if request.headers.get("user-agent", "").startswith("Mozilla/"):
            return _plain_error(403, "User agent not allowed")
        try:
            return await route(request, params)
        except ApiError as exc:
            return _error(exc)

    async def close(self) -> None:
        for proxy in self.proxies.values():
            await proxy.stop()

    def _proxy(self, name: str) -> ProxyRuntime:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise PROXY_NOT_FOUND
        return proxy

    # -- server ---------------------------------------------------------------------------------

    async def version(self, request: Request, _: dict[str, str]) -> Response:
        body = f'{{"version": "{VERSION}"}}\n'.encode()
        return Response(200, body, "application/json;charset=utf-8")

    async def reset(self, request: Request, _: dict[str, str]) -> Response:
        for proxy in list(self.proxies.values()):
            await proxy.start()
            proxy.remove_all_toxics()
        return Response(204)

    # -- proxies --------------------------------------------------------------------------------

    async def proxy_index(self, request: Request, _: dict[str, str]) -> Response:
        return _json(200, {name: proxy.to_json() for name, proxy in self.proxies.items()})

    async def proxy_create(self, request: Request, _: dict[str, str]) -> Response:
        data = decode_object(request.body)
        name = get_str(data, "name", "")
        listen = get_str(data, "listen", "")
        upstream = get_str(data, "upstream", "")
        enabled = get_bool(data, "enabled", True)
        if not name:
            raise missing_field("name")
        if not upstream:
            raise missing_field("upstream")
        if name in self.proxies:
            raise PROXY_EXISTS
        proxy = ProxyRuntime(name, listen, upstream)
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return _json(201, proxy.to_json())

    async def populate(self, request: Request, _: dict[str, str]) -> Response:
        done: list[ProxyRuntime] = []
        try:
            await self._populate(decode_array(request.body), done)
        except ApiError as exc:
            proxies = [proxy.to_json() for proxy in done] or None
            return Response(exc.status, dump({**exc.to_json(), "proxies": proxies}))
        # Toxiproxy answers an empty list as null
        return _json(201, {"proxies": [proxy.to_json() for proxy in done] or None})

    async def _populate(self, items: list[Any], done: list[ProxyRuntime]) -> None:
        specs = []
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise bad_body(f"proxy {number} must be an object")
            name = get_str(item, "name", "")
            upstream = get_str(item, "upstream", "")
            if not name:
                raise missing_field(f"name at proxy {number}")
            if not upstream:
                raise missing_field(f"upstream at proxy {number}")
            specs.append(
                (name, get_str(item, "listen", ""), upstream, get_bool(item, "enabled", True))
            )
        for name, listen, upstream, enabled in specs:
            existing = self.proxies.get(name)
            if existing is not None:
                if not _differs(existing, listen, upstream):
                    done.append(existing)
                    continue
                await existing.stop()
            proxy = ProxyRuntime(name, listen, upstream)
            if enabled:
                await proxy.start()
            self.proxies[name] = proxy
            done.append(proxy)

    async def proxy_show(self, request: Request, params: dict[str, str]) -> Response:
        return _json(200, self._proxy(params["proxy"]).to_json())

    async def proxy_update(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self._proxy(params["proxy"])
        data = decode_object(request.body)
        listen = get_str(data, "listen", proxy.listen)
        upstream = get_str(data, "upstream", proxy.upstream)
        enabled = get_bool(data, "enabled", proxy.enabled)
        if _differs(proxy, listen, upstream):
            await proxy.stop()
            proxy.listen = listen or DEFAULT_LISTEN
            proxy.upstream = upstream
        if enabled and not proxy.enabled:
            await proxy.start()
        elif not enabled:
            await proxy.stop()
        return _json(200, proxy.to_json())

    async def proxy_delete(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self._proxy(params["proxy"])
        await proxy.stop()
        del self.proxies[proxy.name]
        return Response(204)

    # -- toxics ---------------------------------------------------------------------------------

    async def toxic_index(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self._proxy(params["proxy"])
        return _json(200, [toxic.to_json() for toxic in proxy.toxics()])

    async def toxic_create(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self._proxy(params["proxy"])
        data = decode_object(request.body)
        toxic = new_toxic(data)
        if proxy.find_toxic(toxic.name) is not None:
            raise TOXIC_EXISTS
        toxic.attributes = merged_attributes(toxic, data)
        proxy.add_toxic(toxic)
        return _json(200, toxic.to_json())

    async def toxic_show(self, request: Request, params: dict[str, str]) -> Response:
        toxic = self._proxy(params["proxy"]).find_toxic(params["toxic"])
        if toxic is None:
            raise TOXIC_NOT_FOUND
        return _json(200, toxic.to_json())

    async def toxic_update(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self._proxy(params["proxy"])
        toxic = proxy.find_toxic(params["toxic"])
        if toxic is None:
            raise TOXIC_NOT_FOUND
        data = decode_object(request.body)
        attributes = merged_attributes(toxic, data)
        toxicity = get_number(data, "toxicity", toxic.toxicity)
        toxic.attributes = attributes
        toxic.toxicity = toxicity
        proxy.update_toxic(toxic)
        return _json(200, toxic.to_json())

    async def toxic_delete(self, request: Request, params: dict[str, str]) -> Response:
        proxy = self._proxy(params["proxy"])
        toxic = proxy.find_toxic(params["toxic"])
        if toxic is None:
            raise TOXIC_NOT_FOUND
        proxy.remove_toxic(toxic)
        return Response(204)


def _differs(proxy: ProxyRuntime, listen: str, upstream: str) -> bool:
    """Toxiproxy's rule: a proxy changes when its resolved listen address or upstream differ."""
    return resolve_listen(listen or DEFAULT_LISTEN) != proxy.listen or upstream != proxy.upstream
