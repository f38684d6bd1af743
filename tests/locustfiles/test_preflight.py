"""The preflight's child: which form it sends, and that it runs without Locust or gevent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from locustfiles.jobs import build_plan
from locustfiles.preflight_checks import choose_job

REPO = Path(__file__).resolve().parents[2]
KUTA_SELATAN = REPO / "scenarios" / "kuta_selatan_2024.toml"  # 2024's misreads: 24% of forms


def test_the_preflight_sends_the_runs_earliest_form_the_app_reads_correctly() -> None:
    plan = build_plan(KUTA_SELATAN.read_text(), str(KUTA_SELATAN))
    job = choose_job(plan)
    assert (job.tps_code, job.election) not in plan.misreads
    earlier = plan.jobs[: plan.jobs.index(job)]
    assert earlier, "the seed's first form is misread: the preflight must pass it by"
    assert all((j.tps_code, j.election) in plan.misreads for j in earlier if j.election == "ppwp")
    assert job.idempotency_key == f"{job.device_id}/ppwp/1"  # the run's own key for it


def test_the_preflight_child_imports_neither_locust_nor_gevent() -> None:
    """They monkey-patch the standard library; the child uses plain http.client."""
    code = (
        "import sys, locustfiles.preflight; "
        "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_a_scenario_the_child_cannot_read_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "locustfiles.preflight", "--scenario", str(tmp_path / "no.toml"),
         "--host", "http://127.0.0.1:9"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"locustfiles.preflight: --scenario: cannot read {tmp_path}")
