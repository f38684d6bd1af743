"""The typed client against the built-in server: errors carry Toxiproxy's text, calls time out."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from faults.toxiproxy.client import ToxiproxyApiError, ToxiproxyClient, ToxiproxyUnavailable
from faults.toxiproxy.launcher import ToxiproxyServer
from faults.toxiproxy.models import LatencyToxic, TimeoutToxic
from tests.conftest import pick_free_port
from tests.faults.conftest import Upstream

pytestmark = pytest.mark.slow


@pytest.fixture
def client(builtin_server: ToxiproxyServer) -> Iterator[ToxiproxyClient]:
    with ToxiproxyClient(builtin_server.url) as client:
        yield client
        for name in client.proxies():
            if name.startswith("client_"):
                client.delete_proxy(name)


def test_api_errors_carry_toxiproxys_error_text(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    client.create_proxy("client_dup", listen="127.0.0.1:0", upstream=upstream.address)
    with pytest.raises(ToxiproxyApiError) as error:
        client.create_proxy("client_dup", listen="127.0.0.1:0", upstream=upstream.address)
    assert error.value.status == 409
    assert str(error.value) == "Toxiproxy POST /proxies answered 409: proxy already exists"


def test_a_missing_toxic_is_a_404_naming_the_path(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    client.create_proxy("client_nt", listen="127.0.0.1:0", upstream=upstream.address)
    with pytest.raises(ToxiproxyApiError, match="DELETE /proxies/client_nt/toxics/x answered 404"):
        client.remove_toxic("client_nt", "x")


def test_a_closed_port_is_reported_as_unreachable() -> None:
    port = pick_free_port()
    with (
        ToxiproxyClient(f"http://127.0.0.1:{port}", timeout=1.0) as client,
        pytest.raises(
            ToxiproxyUnavailable, match=f"cannot reach Toxiproxy at http://127.0.0.1:{port}"
        ),
    ):
        client.version()


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = ToxiproxyClient(url, timeout=0.3)
        with client, pytest.raises(ToxiproxyUnavailable, match="did not answer GET /version in"):
            client.version()


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, got 0"):
        ToxiproxyClient(timeout=0)


def test_ensure_proxy_creates_then_keeps_then_updates_in_place(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    created = client.ensure_proxy("client_ens", listen="127.0.0.1:0", upstream=upstream.address)
    again = client.ensure_proxy("client_ens", listen="127.0.0.1:0", upstream=upstream.address)
    assert again == created, "an unchanged proxy is left alone (same port)"
    client.add_toxic("client_ens", LatencyToxic(latency=10))
    client.disable("client_ens")
    moved = client.ensure_proxy("client_ens", listen="127.0.0.1:0", upstream="127.0.0.1:1")
    assert moved.upstream == "127.0.0.1:1"
    assert moved.enabled is True
    assert [toxic.resolved_name for toxic in moved.toxics] == ["latency_downstream"], (
        "updated in place, not deleted and recreated: the toxics survive"
    )


def test_toxics_can_be_added_read_updated_and_removed(
    client: ToxiproxyClient, upstream: Upstream
) -> None:
    client.create_proxy("client_tx", listen="127.0.0.1:0", upstream=upstream.address)
    added = client.add_toxic("client_tx", TimeoutToxic(name="hang", timeout=0, toxicity=0.5))
    assert added == TimeoutToxic(name="hang", timeout=0, toxicity=0.5)
    updated = client.update_toxic("client_tx", TimeoutToxic(name="hang", timeout=250))
    assert client.get_toxic("client_tx", "hang") == updated
    assert isinstance(updated, TimeoutToxic)
    assert updated.timeout == 250 and updated.toxicity == 1.0
    client.remove_toxic("client_tx", "hang")
    assert client.toxics("client_tx") == []


def test_populate_and_reset(client: ToxiproxyClient, upstream: Upstream) -> None:
    proxies = client.populate(
        [{"name": "client_pop", "listen": "127.0.0.1:0", "upstream": upstream.address}]
    )
    assert [proxy.name for proxy in proxies] == ["client_pop"]
    client.add_toxic("client_pop", LatencyToxic(latency=5))
    client.disable("client_pop")
    client.reset()
    info = client.get_proxy("client_pop")
    assert info.enabled is True and info.toxics == ()
