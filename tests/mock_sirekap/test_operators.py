"""Operators files (PPK accounts): loading with errors naming file, line and what is valid,
generation from the seed, and the mock's --operators flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mock_sirekap.auth import AuthError, OperatorSigner, TokenSigner
from mock_sirekap.config import CONFIG_ENV, MockConfig
from mock_sirekap.operators import (
    generate_operators,
    kecamatan_index,
    load_operators,
    write_operators,
)
from mock_sirekap.registry import Registry, RegistryError, TpsEntry, generate_registry

HEADER = "kecamatan_code,operator_id,secret\n"


def _registry(*codes: str) -> Registry:
    return Registry.from_entries([TpsEntry(code, 200, {f"{code}-1": "s"}) for code in codes])


REGISTRY = _registry("5103051004001", "5103051006002", "5103061001001", "5103071001001")


def test_an_operators_file_is_read_with_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "operators.csv"
    path.write_text(
        "kecamatan_code,operator_id,secret,name\n"
        "510305,ppk-a,s1,Kuta Selatan\n\n"
        "510305,ppk-b,s2,Kuta Selatan\n"
        " 510306 , ppk-c , s3 ,Kuta\n"
    )
    operators = load_operators(path, REGISTRY)
    assert len(operators) == 3
    assert operators.check("ppk-a", "510305", "s1") and operators.check("ppk-b", "510305", "s2")
    assert operators.check("ppk-c", "510306", "s3")
    assert not operators.check("ppk-a", "510306", "s1")  # the wrong kecamatan
    assert not operators.check("ppk-a", "510305", "s2")  # the wrong secret
    assert not operators.check("nobody", "510305", "s1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "line 1: header must start with kecamatan_code,operator_id,secret; got an empty file"),
        (
            "kecamatan,operator\n",
            "line 1: header must start with kecamatan_code,operator_id,secret",
        ),
        (HEADER + "510305,ppk\n", "line 2: expected 3 columns (kecamatan_code,operator_id,secret)"),
        (
            HEADER + "5103,ppk,s\n",
            "line 2: kecamatan_code '5103' must be 6 digits "
            "(provinsi 2 + kab/kota 2 + kecamatan 2)",
        ),
        (
            HEADER + "510305,ppk,s\n999999,ppk-x,s\n",
            "line 3: kecamatan_code 999999 holds no TPS in the registry; "
            "valid kecamatan codes: 510305, 510306, 510307",
        ),
        (HEADER + "510305,,s\n", "line 2: operator_id and secret must not be empty"),
        (
            HEADER + "510305,ppk,s\n510306,ppk,t\n",
            "line 3: operator_id 'ppk' appears twice; every operator needs an id of its own",
        ),
        (HEADER, "the operators file lists no operator"),
    ],
)
def test_bad_operators_files_are_refused_naming_line_and_what_is_valid(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "operators.csv"
    path.write_text(content)
    with pytest.raises(RegistryError) as error:
        load_operators(path, REGISTRY)
    assert str(error.value).startswith(f"{path}: {message}")


def test_a_long_list_of_valid_kecamatan_is_shortened(tmp_path: Path) -> None:
    registry = generate_registry(3000, 1)
    path = tmp_path / "operators.csv"
    path.write_text(HEADER + "999999,ppk,s\n")
    with pytest.raises(RegistryError) as error:
        load_operators(path, registry)
    known = list(kecamatan_index(registry))
    assert len(known) > 5
    assert str(error.value).endswith(
        f"valid kecamatan codes: {', '.join(known[:5])}, ... ({len(known)} in all)"
    )


def test_an_unreadable_operators_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(RegistryError) as error:
        load_operators(path, REGISTRY)
    assert str(error.value) == f"{path}: cannot read operators: No such file or directory"


def test_generated_operators_are_one_per_kecamatan_and_deterministic(tmp_path: Path) -> None:
    first, again, other = (
        generate_operators(REGISTRY, 3),
        generate_operators(REGISTRY, 3),
        generate_operators(REGISTRY, 4),
    )
    assert list(first.by_id) == ["ppk-510305-1", "ppk-510306-1", "ppk-510307-1"]
    assert [op.kecamatan_code for op in first.by_id.values()] == ["510305", "510306", "510307"]
    assert first == again and first != other
    path = tmp_path / "operators.csv"
    write_operators(first, path)
    assert load_operators(path, REGISTRY) == first


def test_operators_come_from_the_file_or_a_generated_registry_else_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "m.db"
    generated = MockConfig(db=db, admin_token="t", tps=20, seed=2)
    registry = generated.load_registry()
    assert generated.load_operators(registry) == generate_operators(registry, 2)
    from_file = MockConfig(db=db, admin_token="t", registry_file=tmp_path / "r.csv")
    assert len(from_file.load_operators(REGISTRY)) == 0
    path = tmp_path / "operators.csv"
    path.write_text(HEADER + "510307,ppk-z,s\n")
    listed = MockConfig(db=db, admin_token="t", tps=20, operators_file=path)
    assert list(listed.load_operators(REGISTRY).by_id) == ["ppk-z"]
    monkeypatch.setenv(CONFIG_ENV, listed.to_env())  # how --workers processes get the setting
    assert MockConfig.from_env().operators_file == path


def test_operator_and_device_tokens_cannot_stand_in_for_each_other() -> None:
    key = b"k" * 32
    operators, devices = OperatorSigner(key, 60), TokenSigner(key, 60)
    token, session = operators.issue("510305", "ppk|with|bars")
    assert operators.verify(f"Bearer {token}") == session
    assert session.operator_id == "ppk|with|bars"
    with pytest.raises(AuthError, match="malformed device token"):
        devices.verify(f"Bearer {token}")
    device_token = devices.issue("5103051004001", "d1")
    with pytest.raises(AuthError, match="malformed operator token"):
        operators.verify(f"Bearer {device_token}")
    expired, _ = OperatorSigner(key, -1).issue("510305", "ppk")
    with pytest.raises(AuthError, match="operator token expired: log in again"):
        operators.verify(f"Bearer {expired}")


def test_a_bad_operators_file_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    registry = tmp_path / "r.csv"
    registry.write_text("tps_code,dpt,device_id,secret\n5103051004001,200,d,s\n")
    operators = tmp_path / "o.csv"
    operators.write_text(HEADER + "510306,ppk,s\n")
    result = subprocess.run(
        [sys.executable, "-m", "mock_sirekap", "--db", str(tmp_path / "m.db"),
         "--registry", str(registry), "--operators", str(operators)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"mock_sirekap: {operators}: line 2: kecamatan_code 510306 holds no TPS in the registry; "
        "valid kecamatan codes: 510305"
    )
