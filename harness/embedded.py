"""The target a run starts itself: one mock, or the staging-like deployment its scenario asks for.

Either way the run sees the same things: the URL to load, the admin token, the processes a
process fault may hit (``victims``), the metrics to scrape per instance, what the run record says
of it, and whether one of its processes died outside a process fault.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from faults.applier import FaultLayer
from faults.process_layer import ProcessFaults, ProcessHandle, ProcessRouter
from faults.timeline import FaultWindow
from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import free_loopback_port
from harness.children import Child, Children
from harness.database import Database
from harness.deployment import Deployment, DeploymentFiles
from harness.haproxy import BalancerRecorder
from harness.target import MockTarget
from rundir import names
from rundir.layout import RunDir
from scenarios import Scenario, build_population, write_capacity, write_operators, write_registry


def write_mock_files(scenario: Scenario, run_dir: RunDir) -> DeploymentFiles:
    """The scenario's registry, PPK operators and (one instance's) capacity model."""
    population = build_population(scenario)
    write_registry(population, run_dir.registry)
    write_operators(population, run_dir.operators, scenario.plenary.operators_per_kecamatan)
    write_capacity(scenario.target, run_dir.capacity)
    return DeploymentFiles(run_dir.registry, run_dir.capacity, run_dir.operators)


class EmbeddedTarget:
    """One mock (``deployment`` None) or a deployment, started by :meth:`start`."""

    def __init__(self, children: Children, scenario: Scenario, run_dir: RunDir) -> None:
        mock = scenario.target.mock
        assert mock is not None, "an embedded target needs [target.mock]"
        files = write_mock_files(scenario, run_dir)
        self.run_dir, self.children, self.files = run_dir, children, files
        self.deployment: Deployment | None = None
        self.database: Database | None = None
        self.recorder: BalancerRecorder | None = None
        self.needs_database = mock.storage == "postgres"
        self.instances = mock.instances
        self.admin_token = secrets.token_urlsafe(18)
        self.mocks: list[MockTarget] = []
        if mock.deployed and not self.needs_database:
            self._deploy(run_dir.mock_db)
        elif not mock.deployed:
            single = MockTarget(
                children, port=free_loopback_port(), db=run_dir.mock_db, registry=files.registry,
                capacity=files.capacity, logs=run_dir.logs, operators=files.operators,
                admin_token=self.admin_token,
            )  # fmt: skip
            self.mocks = [single]

    def _deploy(self, db: str | Path) -> None:
        self.deployment = Deployment(
            self.children, self.run_dir.path, self.files, instances=self.instances, db=db,
            admin_token=self.admin_token,
        )  # fmt: skip
        self.mocks = list(self.deployment.instances)

    def add_database(self, toxiproxy: ToxiproxyClient, proxy_name: str) -> None:
        """PostgreSQL for the instances, reached through the proxy ``proxy_name``."""
        self.database = Database(
            self.children, self.run_dir.path / "postgres", toxiproxy, proxy_name
        )

    @property
    def url(self) -> str:
        return self.deployment.url if self.deployment else self.mocks[0].url

    def start(self) -> None:
        if self.database is not None:
            self._deploy(self.database.start())
        if self.deployment is None:
            self.mocks[0].start()
            return
        self.deployment.start()

    def start_recording(self, simulated_now: Callable[[], float]) -> None:
        """HAProxy's view, once a second, on the run's clock (a deployment's)."""
        if self.deployment is None:
            return
        self.recorder = BalancerRecorder(
            self.deployment.balancer, self.run_dir.file(names.HAPROXY), simulated_now
        )
        self.recorder.start()

    def stop_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()

    def describe(self) -> dict[str, Any]:
        """What the run record says of the target."""
        if self.deployment is None:
            return {"kind": "mock", "url": self.url, "pid": self.mocks[0].pid}
        return {
            "kind": "deployment",
            "url": self.url,
            "storage": "postgres" if self.database else "sqlite",
            "balancer": {"kind": "haproxy", "pid": self.deployment.balancer.child.pid},
            "instances": [{"name": m.name, "url": m.url, "pid": m.pid} for m in self.mocks],
        }

    def metrics_urls(self) -> Mapping[str, str] | None:
        """Each instance's /metrics (None: the one mock's, through the run's own URL)."""
        if self.deployment is None:
            return None
        return {m.name: f"{m.url}/metrics" for m in self.mocks}

    def process_layer(self) -> FaultLayer:
        if self.deployment is None:
            return ProcessFaults(self.mocks[0])
        handles: dict[str, ProcessHandle] = {m.name: m for m in self.mocks}
        if self.database is not None:
            handles["db"] = self.database.child
        return ProcessRouter(handles, [m.name for m in self.mocks])

    @property
    def processes(self) -> list[Child]:
        """Its children a process fault may stop: the mocks and the database server."""
        found: list[Child] = [m.child for m in self.mocks]
        return found + ([self.database.child] if self.database is not None else [])

    def died(self, active: Sequence[FaultWindow]) -> Child | None:
        """One of its processes dead outside any process fault (the fault restarts its own)."""
        if any(window.layer == "process" for window in active):
            return None
        dead = [child for child in self.processes if not child.alive]
        return dead[0] if dead and not dead[0].alive else None

    @property
    def answers(self) -> bool:
        """Something of it is running to answer (an export): the mock, or any instance."""
        return any(m.alive for m in self.mocks)
