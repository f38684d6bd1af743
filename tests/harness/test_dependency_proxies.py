"""``[[proxies]]`` against a real (built-in) Toxiproxy: found or created, checked, never removed."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import URL_VARIABLE, ToxiproxyServer, start_toxiproxy
from faults.toxiproxy.models import LatencyToxic
from harness.dependency_proxies import attach, check_toxiproxy, leftover_toxics
from harness.reaper import clean_dependency
from rundir.exits import StartError, UsageError
from scenarios import ProxySpec, ScenarioError, loads_scenario
from tests.conftest import pick_free_port
from tests.harness.conftest import SMOKE


@pytest.fixture
def toxiproxy() -> Iterator[ToxiproxyServer]:
    env = {key: value for key, value in os.environ.items() if key != URL_VARIABLE}
    env["PATH"] = ""
    server = start_toxiproxy(env)
    try:
        yield server
    finally:
        server.stop()


def _spec(name: str, listen: int, upstream: int) -> ProxySpec:
    return ProxySpec(name=name, listen=f"127.0.0.1:{listen}", upstream=f"127.0.0.1:{upstream}")


def test_a_missing_proxy_is_created_a_matching_one_found_a_different_one_refused(
    toxiproxy: ToxiproxyServer,
) -> None:
    client = ToxiproxyClient(toxiproxy.url)
    listen, upstream = pick_free_port(), pick_free_port()
    layers, described = attach(client, [_spec("cache", listen, upstream)], "run1_")
    assert described["cache"]["created"] is True and layers["cache"].owned is False
    _, described = attach(client, [_spec("cache", listen, upstream)], "run2_")
    assert described["cache"]["created"] is False
    with pytest.raises(StartError) as error:
        attach(client, [_spec("cache", listen, upstream + 1)], "run3_")
    assert str(error.value) == (
        f"proxy 'cache' in {toxiproxy.url} does not match [[proxies]]: upstream is "
        f"127.0.0.1:{upstream} (the scenario says 127.0.0.1:{upstream + 1}); fix the scenario "
        "or the proxy"
    )
    client.disable("cache")
    with pytest.raises(StartError, match="it is disabled \\(down\\) before the run"):
        attach(client, [_spec("cache", listen, upstream)], "run4_")
    client.enable("cache")
    assert leftover_toxics(client, ["cache"], "run2_") == []
    assert "cache" in client.proxies()  # never removed by the run


def test_proxies_need_the_toxiproxy_they_live_in() -> None:
    text = SMOKE.read_text().replace(
        "[[faults]]",
        '[[proxies]]\nname = "cache"\nlisten = "127.0.0.1:26379"\nupstream = "127.0.0.1:6379"\n'
        "\n[[faults]]",
        1,
    )
    scenario = loads_scenario(text, "s.toml")
    with pytest.raises(UsageError, match=r"^\[\[proxies\]\] \(cache\) are links the service"):
        check_toxiproxy(scenario, None)
    check_toxiproxy(scenario, "http://127.0.0.1:8474")


def test_after_a_kill_the_reaper_removes_only_the_runs_toxics_and_brings_the_link_up(
    toxiproxy: ToxiproxyServer,
) -> None:
    client = ToxiproxyClient(toxiproxy.url)
    client.create_proxy("link", listen=f"127.0.0.1:{pick_free_port()}", upstream="127.0.0.1:9")
    client.add_toxic("link", LatencyToxic(name="theirs", latency=5, stream="upstream"))
    client.add_toxic("link", LatencyToxic(name="run9_w0_latency_downstream", latency=5))
    client.disable("link")
    assert clean_dependency(toxiproxy.url, "link", "run9_")
    assert [t.resolved_name for t in client.toxics("link")] == ["theirs"]
    assert client.get_proxy("link").enabled
    assert not clean_dependency("http://127.0.0.1:9", "link", "run9_")  # nothing answers


def test_two_proxies_on_one_listen_address_are_a_scenario_error() -> None:
    text = SMOKE.read_text().replace(
        "[[faults]]",
        '[[proxies]]\nname = "a"\nlisten = "127.0.0.1:25432"\nupstream = "127.0.0.1:5432"\n\n'
        '[[proxies]]\nname = "b"\nlisten = "127.0.0.1:25432"\nupstream = "127.0.0.1:6379"\n'
        "\n[[faults]]",
        1,
    )
    with pytest.raises(ScenarioError) as error:
        loads_scenario(text, "s.toml")
    assert str(error.value) == (
        "s.toml: proxies[1].listen: got '127.0.0.1:25432'; proxy 'a' listens there already; "
        "each proxy needs its own address"
    )

    on_postgres = text.replace('name = "a"', 'name = "db"').replace(
        'retry_after = "1s"     # real', 'retry_after = "1s"\nstorage = "postgres"'
    )
    with pytest.raises(ScenarioError, match=r"proxies\[0\]\.name: got 'db'; names the embedded"):
        loads_scenario(on_postgres, "s.toml")
