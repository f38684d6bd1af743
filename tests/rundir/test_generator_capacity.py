"""``generator.json``: what calibrate writes is what validate, plan and run read; a bad file is
one line naming the file and what is wrong."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rundir.exits import UsageError
from rundir.generator_capacity import FORMAT, read_capacity, write_capacity
from tests.generator_measurement import measurement


def test_what_is_written_reads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "generator.json"
    write_capacity(path, measurement())
    read = read_capacity(path)
    assert read == measurement(source=str(path))
    assert json.loads(path.read_text())["format"] == FORMAT
    assert not read.lower_bound and read.bound_line() is None
    assert read.describe() == (
        "one generator process keeps 20 forms/s on time (276 requests/s, 330 MB/s at 1.2 MB "
        "photos), measured on gen-1 (Test CPU, 4 cores) 2026-12-01 10:00 UTC"
    )


def test_a_ramp_that_ended_before_the_process_is_only_a_lower_bound(tmp_path: Path) -> None:
    for limit, words in (("target", "the target failed"), ("stages", "ran out of stages")):
        read = measurement(limited_by=limit)
        assert read.lower_bound
        assert "keeps at least 20 forms/s" in read.describe()
        bound = read.bound_line()
        assert bound is not None and words in bound and "may be more than needed" in bound


def _written(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "generator.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, allow_nan=True))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "sirekap-sweep/1"}, "format 'sirekap-sweep/1' is not a generator measurement"),
        ({"forms_per_s": 0}, "forms_per_s must be a number from 1e-06 to 1e+12; got 0"),
        (
            {"bytes_per_s": float("inf")},
            "bytes_per_s must be a number from 1e-06 to 1e+12; got inf",
        ),
        ({"forms_per_s": 1e-308}, "forms_per_s must be a number from 1e-06 to 1e+12; got 1e-308"),
        ({"requests_per_s": 1e308}, "requests_per_s must be a number from 1e-06 to 1e+12; got"),
        ({"photo_bytes": -5}, "photo_bytes must be a whole number from 1 to 1e+12; got -5"),
        ({"photo_bytes": 0.3}, "photo_bytes must be a whole number from 1 to 1e+12; got 0.3"),
        ({"requests_per_s": "fast"}, "requests_per_s must be a number from 1e-06 to 1e+12; got"),
        ({"cpu_s_per_request": True}, "cpu_s_per_request must be a number from 1e-06 to 1e+12"),
        ({"stages": 123}, "stages must be a list of the stages measured"),
        ({"measured_utc": "x" * 10_000}, "measured_utc must be text of 1 to 200 characters; got"),
        ({"limited_by": "luck"}, "limited_by 'luck' is not one of generator, target, stages"),
        ({"machine": {"host": "x"}}, "the generator measurement has no field 'machine.cpu'"),
        ({"machine": "vm"}, "machine must be a table of the host's facts"),
        ({"scenario": 7}, "scenario must be text of 1 to 200 characters; got 7"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = {**measurement().document(), **change}
    path = _written(tmp_path, data)
    with pytest.raises(UsageError) as caught:
        read_capacity(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_a_missing_field_is_named_and_a_null_cost_is_allowed(tmp_path: Path) -> None:
    nulled = {**measurement().document(), "cpu_s_per_request": None}
    assert read_capacity(_written(tmp_path, nulled)).cpu_s_per_request is None
    data = measurement().document()
    del data["forms_per_s"]
    with pytest.raises(UsageError, match="the generator measurement has no field 'forms_per_s'"):
        read_capacity(_written(tmp_path, data))


def test_unreadable_and_not_json_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the generator measurement: No such file"):
        read_capacity(tmp_path / "absent.json")
    with pytest.raises(UsageError, match=r"not JSON .*`sirekap-loadtest calibrate` writes it"):
        read_capacity(_written(tmp_path, "{half"))
    with pytest.raises(UsageError, match="format 'list' is not a generator measurement"):
        read_capacity(_written(tmp_path, [1, 2]))
    with pytest.raises(UsageError, match="not JSON"):  # nested past the parser's depth
        read_capacity(_written(tmp_path, "[" * 100_000 + "]" * 100_000))
    with pytest.raises(UsageError, match=r"not a file; give the generator\.json calibrate wrote"):
        read_capacity(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match=r"fifo: not a file"):  # refused, never read (no hang)
        read_capacity(fifo)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 10_000_001)
    with pytest.raises(UsageError, match="10,000,001 bytes is not a generator measurement"):
        read_capacity(big)
