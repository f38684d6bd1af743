"""Toxiproxy, real or built in: a typed control client, the built-in server and server selection."""

from faults.toxiproxy.client import (
    ToxiproxyApiError,
    ToxiproxyClient,
    ToxiproxyError,
    ToxiproxyUnavailable,
)
from faults.toxiproxy.launcher import (
    ToxiproxyServer,
    ToxiproxyStartError,
    start_toxiproxy,
    toxiproxy_server,
)
from faults.toxiproxy.models import (
    BandwidthToxic,
    LatencyToxic,
    LimitDataToxic,
    ProxyInfo,
    ResetPeerToxic,
    SlicerToxic,
    SlowCloseToxic,
    TimeoutToxic,
    Toxic,
    ToxicError,
    make_toxic,
)

__all__ = [
    "BandwidthToxic",
    "LatencyToxic",
    "LimitDataToxic",
    "ProxyInfo",
    "ResetPeerToxic",
    "SlicerToxic",
    "SlowCloseToxic",
    "TimeoutToxic",
    "Toxic",
    "ToxicError",
    "ToxiproxyApiError",
    "ToxiproxyClient",
    "ToxiproxyError",
    "ToxiproxyServer",
    "ToxiproxyStartError",
    "ToxiproxyUnavailable",
    "make_toxic",
    "start_toxiproxy",
    "toxiproxy_server",
]
