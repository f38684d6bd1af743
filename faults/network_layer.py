"""The network layer: fault windows as Toxiproxy toxics on one proxy, or the proxy taken down.

A run's own proxy (the load path) is the layer's: :meth:`NetworkFaults.clear` removes every toxic
on it and enables it. A proxy the layer does not own (a dependency's link, shared with the service
and outliving the run) is touched only by what the layer did: its toxics carry a ``prefix`` (the
run's id), ``clear`` removes only the toxics with that prefix, and enables the proxy only if the
layer disabled it. Toxics are named ``<prefix><window key>_<type>_<stream>`` so overlapping
windows never clash.

``flaky`` is what plain Toxiproxy users ask for (dropping a fraction of connections): a
``reset_peer`` or ``timeout`` toxic whose toxicity is the fraction, so that share of the
connections open during the window is reset on its first bytes, or hangs. As in Toxiproxy, the end
of a ``timeout`` (or ``flaky`` timeout) window closes the connections it held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from faults.kinds import (
    BandwidthParams,
    DownParams,
    FlakyParams,
    LatencyParams,
    LimitDataParams,
    NetworkParams,
    ResetParams,
    SlicerParams,
    SlowCloseParams,
    StreamChoice,
    TimeoutParams,
)
from faults.timeline import FaultWindow
from faults.toxiproxy.client import ToxiproxyApiError, ToxiproxyClient
from faults.toxiproxy.models import (
    STREAMS,
    BandwidthToxic,
    LatencyToxic,
    LimitDataToxic,
    ResetPeerToxic,
    SlicerToxic,
    SlowCloseToxic,
    Stream,
    TimeoutToxic,
    Toxic,
)


def _streams(choice: StreamChoice) -> tuple[Stream, ...]:
    return STREAMS if choice == "both" else (choice,)


def toxics_for(key: str, params: NetworkParams, prefix: str = "") -> list[Toxic]:
    """The toxics that make up a network fault (one per direction it affects)."""
    toxics: list[Toxic] = []
    for stream in _streams(params.stream):
        toxic = _toxic(params, stream)
        name = f"{prefix}{key}_{toxic.resolved_name}"
        toxics.append(toxic.model_copy(update={"name": name}))
    return toxics


def _toxic(params: NetworkParams, stream: Stream) -> Toxic:
    match params:
        case LatencyParams():
            return LatencyToxic(latency=params.latency_ms, jitter=params.jitter_ms, stream=stream)
        case BandwidthParams():
            return BandwidthToxic(rate=params.rate_kb_per_s, stream=stream)
        case TimeoutParams():
            return TimeoutToxic(timeout=params.timeout_ms, stream=stream)
        case ResetParams():
            return ResetPeerToxic(timeout=params.timeout_ms, stream=stream)
        case SlicerParams():
            return SlicerToxic(
                average_size=params.average_size_bytes,
                size_variation=params.size_variation_bytes,
                delay=params.delay_us,
                stream=stream,
            )
        case LimitDataParams():
            return LimitDataToxic(bytes=params.max_bytes, stream=stream)
        case SlowCloseParams():
            return SlowCloseToxic(delay=params.delay_ms, stream=stream)
        case FlakyParams(mode="reset"):
            return ResetPeerToxic(
                timeout=params.timeout_ms, stream=stream, toxicity=params.fraction
            )
        case FlakyParams():
            return TimeoutToxic(timeout=params.timeout_ms, stream=stream, toxicity=params.fraction)
    raise ValueError(f"{type(params).__name__} is not a network fault with toxics")


class NetworkFaults:
    """Applies network fault windows to proxy ``proxy`` through ``client``."""

    layer = "network"

    def __init__(
        self, client: ToxiproxyClient, proxy: str, *, owned: bool = True, prefix: str = ""
    ) -> None:
        if not owned and not prefix:
            raise ValueError("a proxy the layer does not own needs a prefix for its toxics")
        self.client = client
        self.proxy = proxy
        self.owned = owned
        self.prefix = prefix
        self._toxics: dict[str, list[str]] = {}
        self._down: set[str] = set()
        self._disabled = False  # by this layer

    def apply(self, key: str, window: FaultWindow) -> None:
        params = window.params
        if isinstance(params, DownParams):
            self._down.add(key)
            self.client.disable(self.proxy)
            self._disabled = True
            return
        if not isinstance(params, NetworkParams):
            raise TypeError(f"not a network fault: {window.describe()}")
        names = self._toxics.setdefault(key, [])
        for toxic in toxics_for(key, params, self.prefix):
            self.client.add_toxic(self.proxy, toxic)
            names.append(toxic.resolved_name)

    def remove(self, key: str, window: FaultWindow) -> None:
        if key in self._down:
            self._down.discard(key)
            if not self._down:  # overlapping down windows: up when the last one ends
                self.client.enable(self.proxy)
                self._disabled = False
            return
        for name in self._toxics.pop(key, []):
            self._remove_toxic(name)

    def clear(self) -> None:
        """Remove every toxic on an owned proxy and enable it; on another's, only this layer's
        toxics, and enable it only if this layer disabled it."""
        self._toxics.clear()
        self._down.clear()
        for toxic in self.client.toxics(self.proxy):
            if self.owned or toxic.resolved_name.startswith(self.prefix):
                self._remove_toxic(toxic.resolved_name)
        if self.owned or self._disabled:
            self.client.enable(self.proxy)
            self._disabled = False

    def _remove_toxic(self, name: str) -> None:
        try:
            self.client.remove_toxic(self.proxy, name)
        except ToxiproxyApiError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise


class ProxyRouter:
    """Network faults on several proxies: each window goes to the proxy its ``proxy`` parameter
    names (``None``: ``default``, the load path). Unknown names are refused before the run by
    :meth:`check`, naming the valid ones."""

    layer = "network"

    def __init__(self, proxies: Mapping[str, NetworkFaults], default: str) -> None:
        if default not in proxies:
            raise ValueError(f"the default proxy {default!r} is not among {sorted(proxies)}")
        self.proxies = dict(proxies)
        self.default = default

    def _target(self, window: FaultWindow) -> NetworkFaults:
        name = getattr(window.params, "proxy", None) or self.default
        layer = self.proxies.get(name)
        if layer is None:
            valid = ", ".join(sorted(self.proxies))
            raise ValueError(f"{window.describe()}: no proxy {name!r}; this run has {valid}")
        return layer

    def check(self, windows: Iterable[FaultWindow]) -> None:
        """Every window's proxy exists (ValueError naming the first that does not)."""
        for window in windows:
            if window.layer == self.layer:
                self._target(window)

    def apply(self, key: str, window: FaultWindow) -> None:
        self._target(window).apply(key, window)

    def remove(self, key: str, window: FaultWindow) -> None:
        self._target(window).remove(key, window)

    def clear(self) -> None:
        errors = []
        for layer in self.proxies.values():  # every proxy, even when one fails
            try:
                layer.clear()
            except Exception as error:
                errors.append(f"{layer.proxy}: {error}")
        if errors:
            raise RuntimeError("; ".join(errors))
