"""A staging-like deployment on one machine: N mock instances behind HAProxy on one database.

Each instance is its own process on its own port with one instance's capacity model; they share
the database (a PostgreSQL server, or one SQLite file), so what one acknowledged the others read,
and the plenary and server-fault state is one for all. HAProxy spreads the load and takes a dead
instance out by its health checks. Every part is a child of the harness (children, reaper): none
outlives it. ``sirekap-loadtest cluster`` runs one standalone; ``run`` starts one for a scenario
whose ``[target.mock]`` asks for ``instances``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from faults.toxiproxy.launcher import free_loopback_port
from harness.children import Children
from harness.haproxy import HAProxy
from harness.target import MockTarget
from rundir import names


@dataclass(frozen=True)
class DeploymentFiles:
    """What the instances load: the scenario's registry, operators and one instance's model."""

    registry: Path
    capacity: Path
    operators: Path | None = None


class Deployment:
    """The instances and their load balancer; ``url`` is the balancer's."""

    def __init__(
        self,
        children: Children,
        folder: Path,
        files: DeploymentFiles,
        *,
        instances: int,
        db: str | Path,
        admin_token: str | None = None,
    ) -> None:
        self.folder = folder
        self.admin_token = admin_token or secrets.token_urlsafe(18)
        self.instances = [
            self._instance(children, files, db, f"mock-{index}")
            for index in range(1, instances + 1)
        ]
        self.balancer = HAProxy(
            children, folder / names.LOGS, [(m.name, m.port) for m in self.instances]
        )

    def _instance(
        self, children: Children, files: DeploymentFiles, db: str | Path, name: str
    ) -> MockTarget:
        return MockTarget(
            children, port=free_loopback_port(), db=db, registry=files.registry,
            capacity=files.capacity, logs=self.folder / names.LOGS, operators=files.operators,
            admin_token=self.admin_token, name=name,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return self.balancer.url

    def start(self) -> None:
        for instance in self.instances:
            instance.start()
        self.balancer.start()

    def instance(self, name: str) -> MockTarget:
        """An instance by name (``mock-1``...), for process faults."""
        for instance in self.instances:
            if instance.name == name:
                return instance
        valid = ", ".join(m.name for m in self.instances)
        raise KeyError(f"no instance {name!r}; the deployment has {valid}")

    @property
    def instance_urls(self) -> Sequence[tuple[str, str]]:
        return [(m.name, m.url) for m in self.instances]
