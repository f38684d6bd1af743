"""The target a run starts itself: one mock, or the staging-like deployment its scenario asks for.

Either way the run sees the same things: the URL to load, the admin token, the processes a
process fault may hit (``victims``), the metrics to scrape per instance, what the run record says
of it, and whether one of its processes died outside a process fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from faults.applier import FaultLayer
from faults.process_layer import ProcessFaults, ProcessRouter
from faults.timeline import FaultWindow
from faults.toxiproxy.launcher import free_loopback_port
from harness.children import Children
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
        self.run_dir = run_dir
        self.deployment: Deployment | None = None
        self.recorder: BalancerRecorder | None = None
        if mock.deployed:
            self.deployment = Deployment(
                children, run_dir.path, files, instances=mock.instances, db=run_dir.mock_db
            )
            self.mocks: list[MockTarget] = list(self.deployment.instances)
            self.admin_token = self.deployment.admin_token
        else:
            single = MockTarget(
                children, port=free_loopback_port(), db=run_dir.mock_db, registry=files.registry,
                capacity=files.capacity, logs=run_dir.logs, operators=files.operators,
            )  # fmt: skip
            self.mocks = [single]
            self.admin_token = single.admin_token

    @property
    def url(self) -> str:
        return self.deployment.url if self.deployment else self.mocks[0].url

    def start(self, simulated_now: Callable[[], float]) -> None:
        if self.deployment is None:
            self.mocks[0].start()
            return
        self.deployment.start()
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
        return ProcessRouter({m.name: m for m in self.mocks}, [m.name for m in self.mocks])

    def check_victims(self, windows: Sequence[FaultWindow]) -> None:
        """Every process fault names a process this target has (ValueError naming the valid)."""
        layer = self.process_layer()
        if isinstance(layer, ProcessRouter):
            layer.check(windows)
        elif any(getattr(w.params, "victim", None) not in {None, "all"} for w in windows):
            raise ValueError("a process fault names a victim, but the target is one mock")

    def died(self, active: Sequence[FaultWindow]) -> MockTarget | None:
        """A mock process that is dead outside any process fault (the fault restarts its own)."""
        if any(window.layer == "process" for window in active):
            return None
        dead = [m for m in self.mocks if not m.alive]
        return dead[0] if dead and not dead[0].alive else None

    @property
    def answers(self) -> bool:
        """Something of it is running to answer (an export): the mock, or any instance."""
        return any(m.alive for m in self.mocks)
