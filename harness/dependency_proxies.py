"""The scenario's ``[[proxies]]``: Toxiproxy proxies on the service's links to its dependencies.

The service connects through them all the time, so they outlive the run: they live in the
Toxiproxy ``TOXIPROXY_URL`` names (the one the service's links go through; a Toxiproxy the run
starts itself would take them down when it ends). Before the load each is found, or created when
missing, and must match the scenario (listen address, upstream, enabled): a mismatch is an error
naming both, since faults on another link would be measured as this one's. Their network faults
are toxics named with the run's id; at the end only those are removed (and a proxy the run took
down is brought back up), never the proxy. The reaper does the same when the harness is killed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faults.network_layer import NetworkFaults
from faults.toxiproxy.client import ToxiproxyApiError, ToxiproxyClient
from faults.toxiproxy.launcher import URL_VARIABLE
from rundir.exits import StartError, UsageError
from scenarios import ProxySpec, Scenario


def check_toxiproxy(scenario: Scenario, toxiproxy_url: str | None) -> None:
    """[[proxies]] need the Toxiproxy the service's links live in (UsageError before the run)."""
    if scenario.proxies and not toxiproxy_url:
        names = ", ".join(proxy.name for proxy in scenario.proxies)
        raise UsageError(
            f"[[proxies]] ({names}) are links the service uses all the time, so they live in a "
            f"Toxiproxy that outlives the run: name it with {URL_VARIABLE} (the one the "
            "service's links go through, e.g. the one `sirekap-loadtest cluster` or "
            "`sirekap-loadtest toxiproxy` prints)"
        )


def _same(actual: str, wanted: str) -> bool:
    def norm(address: str) -> str:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        return f"{'127.0.0.1' if host == 'localhost' else host}:{port}"

    return norm(actual) == norm(wanted)


def attach(
    client: ToxiproxyClient, specs: Sequence[ProxySpec], prefix: str
) -> tuple[dict[str, NetworkFaults], dict[str, dict[str, Any]]]:
    """Each proxy found or created, checked; its fault layer and what the record keeps."""
    layers: dict[str, NetworkFaults] = {}
    described: dict[str, dict[str, Any]] = {}
    for spec in specs:
        created = False
        try:
            current = client.get_proxy(spec.name)
        except ToxiproxyApiError as error:
            if error.status != 404:
                raise StartError(f"proxy {spec.name!r}: Toxiproxy answered {error}") from None
            current = client.create_proxy(spec.name, listen=spec.listen, upstream=spec.upstream)
            created = True
        wrong = [
            f"{field} is {actual} (the scenario says {wanted})"
            for field, actual, wanted in (
                ("listen", current.listen, spec.listen),
                ("upstream", current.upstream, spec.upstream),
            )
            if not _same(actual, wanted)
        ]
        if not current.enabled:
            wrong.append("it is disabled (down) before the run")
        if wrong:
            raise StartError(
                f"proxy {spec.name!r} in {client.url} does not match [[proxies]]: "
                f"{'; '.join(wrong)}; fix the scenario or the proxy"
            )
        ours = [t.resolved_name for t in current.toxics if t.resolved_name.startswith(prefix)]
        if ours:
            raise StartError(f"proxy {spec.name!r} already has this run's toxics: {ours}")
        layers[spec.name] = NetworkFaults(client, spec.name, owned=False, prefix=prefix)
        described[spec.name] = {
            "listen": current.listen, "upstream": current.upstream, "created": created,
            "others_toxics": [t.resolved_name for t in current.toxics],
        }  # fmt: skip
    return layers, described


def left_behind(client: ToxiproxyClient, names: Sequence[str], prefix: str) -> str | None:
    """Why the run is not clean when its toxics are still on a dependency's proxy (None: clean)."""
    left = leftover_toxics(client, names, prefix) if names else []
    return f"toxics of this run still on a dependency's proxy: {', '.join(left)}" if left else None


def leftover_toxics(client: ToxiproxyClient, names: Sequence[str], prefix: str) -> list[str]:
    """``proxy/toxic`` for each toxic with ``prefix`` still on the named proxies (after clear)."""
    found = []
    for name in names:
        try:
            toxics = client.toxics(name)
        except ToxiproxyApiError:
            continue
        found += [f"{name}/{t.resolved_name}" for t in toxics if t.resolved_name.startswith(prefix)]
    return found
