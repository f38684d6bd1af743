"""Registry files, capacity files, the worker limiter and endpoint classification."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mock_sirekap.admission import classify
from mock_sirekap.capacity import CapacityError, Limiter, ServiceTime, load_capacity
from mock_sirekap.registry import RegistryError, generate_registry, load_registry, write_registry


def test_generated_registries_are_deterministic_and_well_formed(tmp_path: Path) -> None:
    first, again, other = (
        generate_registry(500, 3),
        generate_registry(500, 3),
        generate_registry(500, 4),
    )
    assert first.tps.keys() == again.tps.keys()
    assert [e.devices for e in first.tps.values()] == [e.devices for e in again.tps.values()]
    assert [e.devices for e in first.tps.values()] != [e.devices for e in other.tps.values()]
    assert len(first.tps) == 500 and len(first.device_tps) == 1000  # two devices per TPS
    assert all(len(code) == 13 and code.isdigit() for code in first.tps)
    assert all(1 <= entry.dpt <= 300 for entry in first.tps.values())
    path = tmp_path / "registry.csv"
    write_registry(first, path)
    loaded = load_registry(path)
    assert {c: e.devices for c, e in loaded.tps.items()} == {
        c: e.devices for c, e in first.tps.items()
    }
    assert loaded.region_tps_count["0"] == 500


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "line 1: header must start with tps_code,dpt,device_id,secret; got an empty file"),
        ("tps,dpt\n", "line 1: header must start with tps_code,dpt,device_id,secret; got tps,dpt"),
        (
            "tps_code,dpt,device_id,secret\n123,200,d,s\n",
            "line 2: tps_code '123' must be 13 digits",
        ),
        (
            "tps_code,dpt,device_id,secret\n5103051004001,301,d,s\n",
            "line 2: dpt '301' must be a whole number 1-300",
        ),
        (
            "tps_code,dpt,device_id,secret\n5103051004001,200,d,s\n5103051004002,200,d,t\n",
            "line 3: device_id 'd' appears twice",
        ),
        (
            "tps_code,dpt,device_id,secret\n5103051004001,200,a,s\n5103051004001,201,b,t\n",
            "line 3: TPS 5103051004001 has dpt 201 here but 200 on an earlier line",
        ),
        ("tps_code,dpt,device_id,secret\n", "the registry lists no TPS"),
    ],
)
def test_bad_registry_files_are_refused_naming_line_and_rule(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(content)
    with pytest.raises(RegistryError) as error:
        load_registry(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"workers": 0}', "workers: got 0; must be a whole number >= 1"),
        ('{"workers": 2.5}', "workers: got 2.5; must be a whole number >= 1"),
        ('{"mode": "fast"}', "mode: got 'fast'; valid modes: model, raw"),
        ('{"worker": 4}', "unknown setting 'worker'; valid settings: mode, queue, queue_timeout"),
        (
            '{"service_time": {"upload": {"median": 1}}}',
            "service_time.upload: unknown endpoint; valid: session, page, result, read, recap",
        ),
        (
            '{"service_time": {"page": {"median": 0.5, "p95": 0.1}}}',
            "service_time.page.p95: 0.1 is below the median 0.5; p95 >= median",
        ),
        ("{nope", "not valid json"),
    ],
)
def test_bad_capacity_files_are_refused_naming_the_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "capacity.json"
    path.write_text(content)
    with pytest.raises(CapacityError) as error:
        load_capacity(path)
    assert message in str(error.value)


def test_capacity_files_in_toml_override_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "capacity.toml"
    path.write_text("workers = 3\n[service_time.page]\nmedian = 0.2\np95 = 0.5\nper_mib = 0.1\n")
    model = load_capacity(path)
    assert model.workers == 3 and model.service_time["page"] == ServiceTime(0.2, 0.5, 0.1)
    assert model.per_process(2).workers == 2  # rounded share of one of two processes
    assert load_capacity(Path("raw")).raw


def test_service_times_follow_median_p95_and_photo_size() -> None:
    import random  # noqa: PLC0415

    rng = random.Random(5)
    spec = ServiceTime(0.1, 0.3, 0.08)
    samples = sorted(spec.sample(rng, 0) for _ in range(4000))
    assert abs(samples[2000] - 0.1) < 0.01
    assert abs(samples[3800] - 0.3) < 0.04
    assert ServiceTime(0.1, 0.1, 0.08).sample(rng, 2 * 1_048_576) == pytest.approx(0.26)


def test_limiter_queues_refuses_and_follows_a_brownout() -> None:
    async def scenario() -> None:
        limiter = Limiter(workers=2, queue=1)
        assert await limiter.acquire(1.0) is None and await limiter.acquire(1.0) is None
        waiting = asyncio.create_task(limiter.acquire(1.0))
        await asyncio.sleep(0)
        assert limiter.waiting == 1
        assert await limiter.acquire(1.0) == "queue_full"
        limiter.release()
        assert await waiting is None and limiter.active == 2
        assert await limiter.acquire(0.05) == "queue_timeout"
        limiter.set_fraction(0.5)  # brown-out to one worker
        limiter.release()
        limiter.release()
        assert limiter.active == 0
        assert await limiter.acquire(1.0) is None
        assert await limiter.acquire(0.05) == "queue_timeout"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [
        ("POST", "/api/v1/sessions", "session"),
        ("PUT", "/api/v1/tps/5103051004001/ppwp/pages/1", "page"),
        ("PUT", "/api/v1/tps/5103051004001/ppwp/result", "result"),
        ("GET", "/api/v1/tps/5103051004001/ppwp", "read"),
        ("GET", "/api/v1/recap/510305/ppwp", "recap"),
        ("GET", "/metrics", None),
        ("PUT", "/admin/faults", None),
    ],
)
def test_requests_are_classified_by_endpoint(method: str, path: str, endpoint: str | None) -> None:
    assert classify(method, path) == endpoint
