"""A Toxiproxy-compatible server in Python (asyncio), used when ``toxiproxy-server`` is not found.

It offers Toxiproxy 2.12's HTTP API and toxic semantics. Two deliberate differences: a proxy created
(or updated) without a listen address binds 127.0.0.1 on an ephemeral port (the real server binds
every interface), and ``reset_peer`` resets both sockets even when added to an open connection.
"""

from faults.toxiproxy.builtin.server import BuiltinToxiproxy, serve

__all__ = ["BuiltinToxiproxy", "serve"]
