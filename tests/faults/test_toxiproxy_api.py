"""The Toxiproxy 2.12 HTTP API: paths, JSON shapes, status codes and error bodies.

Parameterised over implementations like the wire tests; the built-in server must answer as the
real one does. Raw HTTP is used on purpose, not the typed client.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest

from faults.toxiproxy.builtin.proxy import bind_listener
from faults.toxiproxy.launcher import ToxiproxyServer
from tests.faults.conftest import Upstream

pytestmark = pytest.mark.slow

_ids = itertools.count()


@pytest.fixture
def api(toxiproxy: ToxiproxyServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=toxiproxy.url, timeout=5.0) as client:
        yield client


@pytest.fixture
def name(api: httpx.Client) -> Iterator[str]:
    proxy = f"api_{os.getpid()}_{next(_ids)}"
    yield proxy
    api.delete(f"/proxies/{proxy}")


def create(api: httpx.Client, name: str, upstream: Upstream, **extra: object) -> httpx.Response:
    body = {"name": name, "listen": "127.0.0.1:0", "upstream": upstream.address, **extra}
    return api.post("/proxies", json=body)


def test_version_answers_json_with_a_version(api: httpx.Client) -> None:
    response = api.get("/version")
    assert response.status_code == 200
    assert response.json()["version"]


def test_create_proxy_answers_201_with_the_bound_listen_address(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    response = create(api, name, upstream)
    assert response.status_code == 201
    data = response.json()
    assert {"name", "listen", "upstream", "enabled", "toxics"} <= set(data)
    assert data["name"] == name
    assert data["upstream"] == upstream.address
    assert data["enabled"] is True
    assert data["toxics"] == []
    host, port = data["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0, "port 0 is replaced by the bound port"
    assert api.get("/proxies").json()[name] == data


def test_create_existing_proxy_is_409_proxy_already_exists(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream)
    response = create(api, name, upstream)
    assert response.status_code == 409
    assert response.json() == {"error": "proxy already exists", "status": 409}


def test_create_proxy_without_upstream_is_400_missing_field(api: httpx.Client, name: str) -> None:
    response = api.post("/proxies", json={"name": name, "listen": "127.0.0.1:0"})
    assert response.status_code == 400
    assert response.json() == {"error": "missing required field: upstream", "status": 400}


def test_create_disabled_proxy_does_not_listen(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    response = create(api, name, upstream, enabled=False)
    assert response.status_code == 201
    assert response.json()["enabled"] is False


def test_unknown_proxy_is_404_proxy_not_found(api: httpx.Client) -> None:
    for response in (
        api.get("/proxies/no_such_proxy"),
        api.delete("/proxies/no_such_proxy"),
        api.get("/proxies/no_such_proxy/toxics"),
        api.post("/proxies/no_such_proxy/toxics", json={"type": "latency"}),
    ):
        assert response.status_code == 404
        assert response.json() == {"error": "proxy not found", "status": 404}


def test_update_proxy_with_patch_and_post_changes_enabled(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream)
    response = api.patch(f"/proxies/{name}", json={"enabled": False})
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    response = api.post(f"/proxies/{name}", json={"enabled": True})
    assert response.status_code == 200
    assert response.json()["enabled"] is True


def test_delete_proxy_is_204_then_404(api: httpx.Client, name: str, upstream: Upstream) -> None:
    create(api, name, upstream)
    assert api.delete(f"/proxies/{name}").status_code == 204
    assert api.get(f"/proxies/{name}").status_code == 404


def test_create_toxic_is_200_with_defaults_filled_in(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream)
    response = api.post(
        f"/proxies/{name}/toxics", json={"type": "latency", "attributes": {"latency": 100}}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "latency_downstream", "the name defaults to <type>_<stream>"
    assert data["type"] == "latency"
    assert data["stream"] == "downstream"
    assert data["toxicity"] == 1
    assert data["attributes"] == {"latency": 100, "jitter": 0}
    assert api.get(f"/proxies/{name}/toxics").json() == [data]
    assert api.get(f"/proxies/{name}/toxics/latency_downstream").json() == data
    assert api.get(f"/proxies/{name}").json()["toxics"] == [data]


def test_every_toxic_type_is_accepted_with_its_attributes(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream, enabled=False)
    expected = {
        "latency": {"latency": 1, "jitter": 2},
        "bandwidth": {"rate": 3},
        "slow_close": {"delay": 4},
        "timeout": {"timeout": 5},
        "reset_peer": {"timeout": 6},
        "slicer": {"average_size": 7, "size_variation": 1, "delay": 9},
        "limit_data": {"bytes": 10},
    }
    for toxic_type, attributes in expected.items():
        response = api.post(
            f"/proxies/{name}/toxics",
            json={"type": toxic_type, "stream": "upstream", "attributes": attributes},
        )
        assert response.status_code == 200, response.text
        assert response.json()["attributes"] == attributes
        assert response.json()["name"] == f"{toxic_type}_upstream"


def test_unknown_attributes_are_ignored_by_the_server(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream)
    response = api.post(
        f"/proxies/{name}/toxics", json={"type": "latency", "attributes": {"latncy": 100}}
    )
    assert response.status_code == 200
    assert response.json()["attributes"] == {"latency": 0, "jitter": 0}


def test_toxic_errors_are_400_404_and_409_with_toxiproxys_messages(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream)
    toxics = f"/proxies/{name}/toxics"
    bad_type = api.post(toxics, json={"type": "nope"})
    assert (bad_type.status_code, bad_type.json()) == (
        400,
        {"error": "invalid toxic type", "status": 400},
    )
    bad_stream = api.post(toxics, json={"type": "latency", "stream": "sideways"})
    assert bad_stream.status_code == 400
    assert bad_stream.json()["error"] == "stream was invalid, can be either upstream or downstream"
    assert api.post(toxics, json={"type": "latency"}).status_code == 200
    clash = api.post(toxics, json={"type": "latency"})
    assert (clash.status_code, clash.json()) == (
        409,
        {"error": "toxic already exists", "status": 409},
    )
    missing = api.get(f"{toxics}/nope")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "toxic not found", "status": 404},
    )
    assert api.delete(f"{toxics}/nope").status_code == 404


def test_update_toxic_merges_attributes_and_sets_toxicity(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream)
    toxics = f"/proxies/{name}/toxics"
    api.post(toxics, json={"type": "latency", "attributes": {"latency": 100, "jitter": 10}})
    response = api.patch(
        f"{toxics}/latency_downstream", json={"attributes": {"latency": 300}, "toxicity": 0.5}
    )
    assert response.status_code == 200
    assert response.json()["attributes"] == {"latency": 300, "jitter": 10}
    assert response.json()["toxicity"] == 0.5
    response = api.post(f"{toxics}/latency_downstream", json={"attributes": {"jitter": 0}})
    assert response.status_code == 200
    assert response.json()["attributes"] == {"latency": 300, "jitter": 0}


def test_delete_toxic_is_204(api: httpx.Client, name: str, upstream: Upstream) -> None:
    create(api, name, upstream)
    api.post(f"/proxies/{name}/toxics", json={"type": "timeout"})
    assert api.delete(f"/proxies/{name}/toxics/timeout_downstream").status_code == 204
    assert api.get(f"/proxies/{name}/toxics").json() == []


def test_reset_enables_every_proxy_and_removes_every_toxic(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    create(api, name, upstream, enabled=False)
    api.post(f"/proxies/{name}/toxics", json={"type": "latency"})
    assert api.post("/reset").status_code == 204
    data = api.get(f"/proxies/{name}").json()
    assert data["enabled"] is True
    assert data["toxics"] == []


def test_populate_creates_proxies_and_answers_201(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    body = [{"name": name, "listen": "127.0.0.1:0", "upstream": upstream.address}]
    response = api.post("/populate", json=body)
    assert response.status_code == 201
    proxies = response.json()["proxies"]
    assert [proxy["name"] for proxy in proxies] == [name]
    assert proxies[0]["enabled"] is True


def test_populate_without_a_name_is_400_naming_the_proxy(api: httpx.Client) -> None:
    response = api.post("/populate", json=[{"upstream": "127.0.0.1:1"}])
    assert response.status_code == 400
    assert response.json()["error"] == "missing required field: name at proxy 1"
    assert response.json()["status"] == 400


def test_unknown_paths_are_404_and_wrong_methods_405(api: httpx.Client) -> None:
    assert api.get("/nothing_here").status_code == 404
    assert api.delete("/version").status_code == 405
    assert api.put("/proxies").status_code == 405


REQUEST_ID = re.compile(r"[0-9a-v]{20}")  # Toxiproxy's ids: 12 bytes in lower-case base32hex


def test_every_response_of_a_route_carries_a_unique_request_id_and_a_date(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    toxics = f"/proxies/{name}/toxics"
    responses = [
        api.get("/version"),
        create(api, name, upstream),
        create(api, name, upstream),  # 409
        api.post("/proxies", json={"name": name}),  # 400
        api.get("/proxies/no_such_proxy"),  # 404 from the API, not the router
        api.get("/proxies"),
        api.patch(f"/proxies/{name}", json={"enabled": True}),
        api.post(toxics, json={"type": "latency"}),
        api.post(toxics, json={"type": "nope"}),  # 400
        api.get(f"{toxics}/latency_downstream"),
        api.delete(f"{toxics}/latency_downstream"),  # 204
        api.post("/populate", json=[]),
        api.post("/reset"),  # 204
        api.get("/proxies", headers={"User-Agent": "Mozilla/5.0"}),  # 403
    ]
    ids = [response.headers.get("X-Toxiproxy-Request-Id", "") for response in responses]
    for response, request_id in zip(responses, ids, strict=True):
        where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
        assert REQUEST_ID.fullmatch(request_id), f"{where}: request id {request_id!r}"
        assert parsedate_to_datetime(response.headers["Date"]).tzinfo is not None, where
    assert len(set(ids)) == len(ids), f"request ids repeat: {ids}"


def test_the_routers_own_answers_carry_no_request_id_like_go(api: httpx.Client) -> None:
    not_found = api.get("/nothing_here")
    assert (not_found.status_code, not_found.text) == (404, "404 page not found\n")
    assert not_found.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert not_found.headers["X-Content-Type-Options"] == "nosniff"
    wrong_method = api.delete("/version")
    assert (wrong_method.status_code, wrong_method.content) == (405, b"")
    assert "Content-Type" not in wrong_method.headers
    unclean = api.get(f"{api.base_url}//proxies")  # a relative "//proxies" would be a host
    assert (unclean.status_code, unclean.headers["Location"]) == (301, "/proxies")
    for response in (not_found, wrong_method, unclean):
        assert "X-Toxiproxy-Request-Id" not in response.headers, response.status_code
        assert "Date" in response.headers


def test_the_browser_refusal_is_a_plain_text_403_not_sniffable(api: httpx.Client) -> None:
    response = api.get("/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert (response.status_code, response.text) == (403, "User agent not allowed\n")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_listen_address_in_use_is_500_naming_the_resolved_address(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    taken = upstream.port  # the upstream server listens on 127.0.0.1:taken
    in_use = f"listen tcp 127.0.0.1:{taken}: bind: address already in use"
    for listen in (f"localhost:{taken}", f"127.0.0.1:{taken}"):
        response = api.post("/proxies", json={"name": name, "listen": listen, "upstream": "x:1"})
        assert response.status_code == 500, listen
        assert response.json() == {"error": in_use, "status": 500}, listen
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert api.get(f"/proxies/{name}").status_code == 404, "a proxy that cannot listen is not kept"
    wildcard = api.post("/proxies", json={"name": name, "listen": f":{taken}", "upstream": "x:1"})
    assert wildcard.json()["error"] == f"listen tcp :{taken}: bind: address already in use"
    create(api, name, upstream)
    moved = api.patch(f"/proxies/{name}", json={"listen": f"localhost:{taken}"})
    assert (moved.status_code, moved.json()) == (500, {"error": in_use, "status": 500})
    assert api.get(f"/proxies/{name}").json()["enabled"] is False, "the moved proxy stays down"
    populate = [{"name": name, "listen": f"localhost:{taken}", "upstream": "x:1"}]
    populated = api.post("/populate", json=populate)
    assert populated.status_code == 500
    assert populated.json() == {"error": in_use, "status": 500, "proxies": None}


def test_unreadable_listen_addresses_are_500_with_gos_address_errors(
    api: httpx.Client, name: str, upstream: Upstream
) -> None:
    errors = {
        "127.0.0.1": "address 127.0.0.1: missing port in address",
        "127.0.0.1:99999": "address 99999: invalid port",
        "127.0.0.1:-1": "address -1: invalid port",
        "::1:80": "address ::1:80: too many colons in address",
        "[::1": "address [::1: missing ']' in address",
        "[::1]80": "address [::1]80: missing port in address",
    }
    for listen, error in errors.items():
        created = api.post("/proxies", json={"name": name, "listen": listen, "upstream": "x:1"})
        assert (created.status_code, created.json()["error"]) == (500, f"listen tcp: {error}")
    create(api, name, upstream)
    for listen, error in errors.items():  # an update resolves first: no "listen tcp"
        updated = api.patch(f"/proxies/{name}", json={"listen": listen})
        assert (updated.status_code, updated.json()["error"]) == (500, error)


# -- the built-in server's own messages, where the real one prints Go decoder errors -----------


@pytest.fixture
def builtin_api(builtin_server: ToxiproxyServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=builtin_server.url, timeout=5.0) as client:
        yield client


def test_builtin_bad_bodies_are_400_saying_what_is_wrong(builtin_api: httpx.Client) -> None:
    empty = builtin_api.post("/proxies", content=b"")
    assert empty.json() == {"error": "bad request body: EOF", "status": 400}
    not_json = builtin_api.post("/proxies", content=b"{nope")
    assert not_json.status_code == 400
    assert not_json.json()["error"].startswith("bad request body: invalid JSON")
    wrong_type = builtin_api.post("/proxies", json={"name": "x", "upstream": 5})
    assert wrong_type.json()["error"] == (
        "bad request body: field 'upstream' must be a string, got the number 5"
    )


def test_builtin_rejects_non_integer_attributes(
    builtin_api: httpx.Client, upstream: Upstream
) -> None:
    name = f"api_{os.getpid()}_{next(_ids)}"
    create(builtin_api, name, upstream)
    try:
        response = builtin_api.post(
            f"/proxies/{name}/toxics", json={"type": "latency", "attributes": {"latency": 1.5}}
        )
        assert response.status_code == 400
        assert response.json()["error"] == (
            "bad request body: attribute 'latency' of a latency toxic must be an integer, got 1.5"
        )
    finally:
        builtin_api.delete(f"/proxies/{name}")


def test_builtin_unknown_port_names_are_500_unknown_port(builtin_api: httpx.Client) -> None:
    # Go's wording for this one varies with the Go version a toxiproxy-server was built with
    body = {"name": "svc", "listen": "127.0.0.1:no-such-service", "upstream": "127.0.0.1:1"}
    response = builtin_api.post("/proxies", json=body)
    assert (response.status_code, response.json()["error"]) == (
        500,
        "listen tcp: address tcp/no-such-service: unknown port",
    )


def test_builtin_an_empty_listen_in_an_update_rebinds_the_default_loopback_address(
    builtin_api: httpx.Client, upstream: Upstream
) -> None:
    name = f"api_{os.getpid()}_{next(_ids)}"
    create(builtin_api, name, upstream)
    try:
        response = builtin_api.patch(f"/proxies/{name}", json={"listen": ""})
        assert response.status_code == 200, response.text
        host, port = response.json()["listen"].rsplit(":", 1)
        assert (host, response.json()["enabled"]) == ("127.0.0.1", True)
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
    finally:
        builtin_api.delete(f"/proxies/{name}")


def test_builtin_refuses_browsers_like_toxiproxy(builtin_api: httpx.Client) -> None:
    response = builtin_api.get("/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert (response.status_code, response.text) == (403, "User agent not allowed\n")


def test_builtin_a_wildcard_listen_address_binds_ipv4_and_ipv6_like_go() -> None:
    # bound, never listening: nothing is offered on other interfaces
    for host, shown in (("0.0.0.0", "0.0.0.0:0"), ("", ":0")):
        sock, named, error = bind_listener(host, 0)
        assert sock is not None, error
        with sock:
            assert named == shown, "a bind error names the address as given, resolved"
            if socket.has_ipv6 and sock.family == socket.AF_INET6:
                assert sock.getsockname()[0] == "::"
                assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
            else:
                assert sock.getsockname()[0] == "0.0.0.0"
