"""A deployment's database server: PostgreSQL as a child of the harness, behind a Toxiproxy proxy.

The instances reach PostgreSQL only through the proxy (named ``<prefix>-db``), the way Toxiproxy
sits in front of a dependency in production, so network faults can hit the link between the
instances and their database (``proxy = "db"``). The server itself is a process-fault victim
(``victim = "db"``: killed and restarted, or frozen), and no part of it outlives the harness: it
is one of the run's children (its process group known to the reaper).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import free_loopback_port
from harness.children import Child, Children
from harness.postgres import SUPERUSER, PostgresServer


class DatabaseChild(Child):
    """The PostgreSQL server as a run's child: started, signalled and stopped like the others;
    also the process handle of ``victim = "db"``."""

    def __init__(self, folder: Path) -> None:
        super().__init__("postgres", [], folder / "postgres.log")
        self.server = PostgresServer(folder)
        self.starting = False

    def start(self) -> None:
        self.starting = True  # alive while it starts: a restart is not a death
        try:
            self.server.start()
        finally:
            self.starting = False
        self.process = self.server.process
        if self.watcher is not None and self.process is not None:
            self.watcher.watch(self.process.pid)

    @property
    def alive(self) -> bool:
        return self.starting or super().alive

    def stop(self, grace: float = 10.0) -> None:
        self.signal(signal.SIGCONT)  # a frozen server cannot shut down
        self.server.stop(grace)

    # -- the process handle of faults.process_layer --
    def kill(self, sig: int) -> None:
        process = self.server.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)  # the postmaster and every backend
        if sig == signal.SIGKILL:
            process.wait(timeout=10)

    def restart(self) -> None:
        self.start()


class Database:
    """PostgreSQL and the proxy in front of it; :meth:`start` answers the URL through the proxy."""

    def __init__(
        self, children: Children, folder: Path, toxiproxy: ToxiproxyClient, proxy_name: str
    ) -> None:
        self.child = DatabaseChild(folder)
        children.add(self.child)
        self.toxiproxy = toxiproxy
        self.proxy_name = proxy_name
        self.listen = free_loopback_port()

    def start(self) -> str:
        self.child.start()
        server = self.child.server
        self.toxiproxy.ensure_proxy(
            self.proxy_name, listen=f"127.0.0.1:{self.listen}", upstream=f"127.0.0.1:{server.port}"
        )
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.listen}/{server.database}"

    def remove_proxy(self) -> None:
        with contextlib.suppress(Exception):
            self.toxiproxy.delete_proxy(self.proxy_name)
