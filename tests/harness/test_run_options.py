"""What ``run`` decides before anything starts: the scenario with --speedup, the admin token,
the SLOs it will not be able to measure."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness.run_options import (
    ADMIN_TOKEN_VARIABLE,
    UsageError,
    admin_token,
    parser,
    prepare,
    scenario_text,
    unmeasurable,
)

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "scenarios" / "smoke.toml"


def _args(*argv: str):  # type: ignore[no-untyped-def]
    return parser().parse_args([*argv])


def test_speedup_overrides_the_parsed_value_whatever_the_number_looks_like(
    tmp_path: Path,
) -> None:
    """`speedup = 1_000` with --speedup 720 is 720 (a text rewrite made it 720_000)."""
    path = tmp_path / "s.toml"
    path.write_text(SMOKE.read_text().replace("speedup = 720 ", "speedup = 1_000 "))
    scenario, text, _ = scenario_text(_args(str(path), "--speedup", "720"))
    assert scenario.clock.speedup == 720
    assert tomllib.loads(text)["clock"]["speedup"] == 720
    assert text.startswith(f"# {path} as run, with --speedup 720\n")
    unchanged, same, _ = scenario_text(_args(str(path)))
    assert unchanged.clock.speedup == 1000 and same == path.read_text()


def test_speedup_errors_name_the_flag_and_what_is_valid(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^--speedup must be a finite number > 0; got -2$"):
        scenario_text(_args(str(SMOKE), "--speedup", "-2"))
    path = tmp_path / "s.toml"
    path.write_text("name = 'x'\n")
    with pytest.raises(UsageError) as error:
        scenario_text(_args(str(path), "--speedup", "10"))
    assert str(error.value) == f"{path}: no [clock] table whose speedup to override"


def test_instances_sets_the_deployments_size_on_the_parsed_scenario(tmp_path: Path) -> None:
    scenario, text, _ = scenario_text(_args(str(SMOKE), "--instances", "3", "--speedup", "360"))
    mock = scenario.target.mock
    assert mock is not None and mock.instances == 3 and mock.deployed
    assert text.startswith(f"# {SMOKE} as run, with --speedup 360 --instances 3\n")
    assert tomllib.loads(text)["target"]["mock"]["instances"] == 3
    with pytest.raises(UsageError) as error:
        scenario_text(_args(str(SMOKE), "--instances", "17"))
    assert "target.mock.instances" in str(error.value) and "16" in str(error.value)
    with pytest.raises(UsageError, match=r"^--instances sets the embedded deployment's size"):
        scenario_text(_args(str(SMOKE), "--instances", "2", "--target", "http://127.0.0.1:9"))
    remote = tmp_path / "remote.toml"
    remote.write_text(
        SMOKE.read_text().split("[target.mock]")[0] + '[target]\nurl = "http://127.0.0.1:9"\n'
    )
    with pytest.raises(UsageError, match=r"the target is a URL; --instances needs \[target.mock\]"):
        scenario_text(_args(str(remote), "--instances", "2"))


def test_read_back_is_a_share(tmp_path: Path) -> None:
    assert _args(str(SMOKE)).read_back == 1.0
    with pytest.raises(UsageError, match=r"^--read-back must be a share from 0 to 1; got 2$"):
        prepare(_args(str(SMOKE), "--read-back", "2", "--out", str(tmp_path)))


def test_the_admin_token_comes_from_the_flag_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_TOKEN_VARIABLE, raising=False)
    assert admin_token(_args(str(SMOKE))) is None
    monkeypatch.setenv(ADMIN_TOKEN_VARIABLE, "from-env")
    assert admin_token(_args(str(SMOKE))) == "from-env"
    file = tmp_path / "token"
    file.write_text("from-file\n")
    assert admin_token(_args(str(SMOKE), "--admin-token-file", str(file))) == "from-file"
    assert admin_token(_args(str(SMOKE), "--admin-token", "from-flag")) == "from-flag"
    with pytest.raises(UsageError, match="give the admin token once"):
        admin_token(_args(str(SMOKE), "--admin-token", "a", "--admin-token-file", str(file)))
    file.write_text("\n")
    with pytest.raises(UsageError, match=r": the file is empty$"):
        admin_token(_args(str(SMOKE), "--admin-token-file", str(file)))
    with pytest.raises(UsageError, match=r"--admin-token-file .*missing: No such file"):
        admin_token(_args(str(SMOKE), "--admin-token-file", str(tmp_path / "missing")))


def test_server_faults_against_a_target_without_a_token_are_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_TOKEN_VARIABLE, raising=False)
    path = tmp_path / "s.toml"
    path.write_text(
        SMOKE.read_text().replace(
            'layer = "network"\nkind = "down"',
            'layer = "server"\nkind = "latency"\nparams = { latency_ms = 100 }',
        )
    )
    with pytest.raises(UsageError, match="the scenario has server faults, which need"):
        prepare(_args(str(path), "--target", "http://127.0.0.1:9"))


def test_what_cannot_be_measured_is_known_before_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ADMIN_TOKEN_VARIABLE, raising=False)
    remote = prepare(_args(str(SMOKE), "--target", "http://127.0.0.1:9", "--no-faults"))
    # without the token the read-back audit measures lost; turned off, nothing does
    assert unmeasurable(remote, remote=True, no_faults=True) == [
        "not applicable in this run: recovery.time_to_recover('short outage') < 30m: its fault "
        "window is removed by --no-faults",
    ]
    assert unmeasurable(remote, remote=True, no_faults=False, audit_off=True) == [
        "not measurable in this run: integrity.lost == 0: no export (admin token) and "
        "--audit-rate 0 turns the read-back audit off",
    ]
    embedded = prepare(_args(str(SMOKE)))
    assert unmeasurable(embedded, remote=False, no_faults=False) == []


def test_a_fault_on_a_process_or_link_the_target_lacks_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        SMOKE.read_text().replace(
            'layer = "network"\nkind = "down"', 'layer = "network"\nkind = "down"\nparams = '
            '{ proxy = "db" }'
        )
    )  # fmt: skip
    with pytest.raises(UsageError) as error:
        prepare(_args(str(path)))
    assert str(error.value).endswith(
        "no proxy 'db'; valid proxies: none (a database link needs storage = 'postgres')"
    )
    path.write_text(
        SMOKE.read_text().replace(
            'layer = "network"\nkind = "down"',
            'layer = "process"\nkind = "kill"\nparams = { victim = "mock-2" }',
        )
    )
    with pytest.raises(UsageError) as error:
        prepare(_args(str(path)))
    assert str(error.value).endswith(
        "no process 'mock-2'; valid victims: none: the target is one mock"
    )


def test_process_faults_against_a_target_are_refused_before_the_run(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        SMOKE.read_text().replace(
            'layer = "network"\nkind = "down"', 'layer = "process"\nkind = "kill"'
        )
    )
    with pytest.raises(UsageError) as error:
        prepare(_args(str(path), "--target", "http://127.0.0.1:9"))
    assert str(error.value).endswith(
        "a process fault needs a process the harness runs (the embedded mock or deployment), "
        "not --target; remove it or run without --target"
    )


def test_an_api_class_that_cannot_be_loaded_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as error:
        prepare(_args(str(SMOKE), "--api-class", "nowhere.at_all:Api", "--out", str(tmp_path)))
    assert str(error.value).startswith("--api-class: cannot import 'nowhere.at_all'")
    with pytest.raises(UsageError, match=r"^--api-class: got 'plain'; must be MODULE:CLASS"):
        prepare(_args(str(SMOKE), "--api-class", "plain", "--out", str(tmp_path)))
    prepare(_args(str(SMOKE), "--api-class", "locustfiles.adapters.renamed:RenamedApi"))
