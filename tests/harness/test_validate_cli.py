"""``sirekap-loadtest validate``: a one-screen summary and exit 0, or error lines and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.validate import main
from scenarios.mock_inputs.registry import read_registry
from tests.scenarios.helpers import MINIMAL, REPO, SHIPPED


def test_the_command_validates_smoke_as_a_subprocess() -> None:
    command = Path(sys.executable).parent / "sirekap-loadtest"
    result = subprocess.run(
        [str(command), "validate", "scenarios/smoke.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "smoke  scenarios/smoke.toml"
    assert lines[-1] == "valid"
    assert len(lines) <= 25  # one screen
    text = result.stdout
    assert "31 of 31 TPS (WITA 31), 62 devices" in text
    assert "4h simulated = 20s real (speedup 720)" in text
    assert "93 pages" in text
    assert "peak " in text and "TPS/s" in text
    assert "factor 720 (sample 1 x speedup 720)" in text
    assert "short outage" in text and "2024-02-14 18:00 WITA -> 2024-02-14 18:20 WITA" in text


def test_an_invalid_file_exits_2_with_one_line_per_error_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kuta.toml"
    path.write_text(
        MINIMAL.replace("speedup = 260", "speedup = -3").replace(
            "seed = 7", "seed = 7\nsampel = 1"
        ),
        encoding="utf-8",
    )
    assert main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{path}: clock.speedup: got -3; must be a number > 0",
        f"{path}: population.sampel: unknown key; valid keys here: scale, seed, sample, "
        "provinces, regions, names, forms, dpt, photo_size",
    ]


def test_an_invalid_file_from_the_command_line_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("name = \n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "harness.validate", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}: not valid TOML: ")
    assert "Traceback" not in result.stderr


def test_several_files_are_all_checked_and_any_error_gives_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.toml"
    status = main(
        [str(SHIPPED / "smoke.toml"), str(missing), str(SHIPPED / "kuta_selatan_2024.toml")]
    )
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out.count("\nvalid\n") == 2
    assert captured.err == f"{missing}: cannot read: No such file or directory\n"


def test_usage_errors_exit_2_and_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: sirekap-loadtest validate" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "SCENARIO" in capsys.readouterr().out


def test_the_registry_option_writes_the_mock_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "registry.csv"
    assert main([str(SHIPPED / "smoke.toml"), "--registry", str(target)]) == 0
    assert f"62 devices written to {target}" in capsys.readouterr().out
    assert len(read_registry(target)) == 62
    assert main([str(SHIPPED / "smoke.toml"), str(SHIPPED / "smoke.toml"), "--registry", "x"]) == 2
    assert "--registry takes exactly one SCENARIO" in capsys.readouterr().err
