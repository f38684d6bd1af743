"""The fault layer: Toxiproxy (real or built in), server, process and command faults, timelines.

It stands alone: it imports nothing else of this project.

- ``faults.toxiproxy``: typed Toxiproxy client, the built-in Toxiproxy-compatible server, and the
  selection of the server a run uses.
- ``faults.timeline`` / ``faults.kinds``: fault windows on the simulated clock and their kinds.
- ``faults.applier``: applies a timeline through the layers, records every action, clears up.
- ``faults.network_layer``, ``faults.server_layer``, ``faults.process_layer``,
  ``faults.command_layer`` (the user's apply/probe/revert commands): the four layers.
"""

from faults.applier import FaultApplier, FaultCleanupError, FaultLayer
from faults.command_layer import CommandFaultError, CommandFaults
from faults.events import FaultEvent
from faults.network_layer import NetworkFaults
from faults.process_layer import ProcessFaults, ProcessHandle
from faults.server_layer import ServerFaultError, ServerFaults
from faults.timeline import FaultTimeline, FaultWindow, SimClock

__all__ = [
    "CommandFaultError",
    "CommandFaults",
    "FaultApplier",
    "FaultCleanupError",
    "FaultEvent",
    "FaultLayer",
    "FaultTimeline",
    "FaultWindow",
    "NetworkFaults",
    "ProcessFaults",
    "ProcessHandle",
    "ServerFaultError",
    "ServerFaults",
    "SimClock",
]
