"""The loader reports each problem as FILE: FIELD: got VALUE; WHAT IS VALID, all at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenarios import ScenarioError, load_scenario, loads_scenario
from tests.scenarios.helpers import MINIMAL, scenario


def errors_of(text: str, source: str = "mini.toml") -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        loads_scenario(text, source)
    return [str(issue) for issue in caught.value.issues]


def with_clock(line_old: str, line_new: str) -> str:
    assert line_old in MINIMAL
    return MINIMAL.replace(line_old, line_new)


# (what is wrong, the scenario text, the error line expected)
CASES = [
    (
        "negative speedup",
        with_clock("speedup = 260", "speedup = -3"),
        "mini.toml: clock.speedup: got -3; must be a number > 0",
    ),
    (
        "speedup as text",
        with_clock("speedup = 260", 'speedup = "fast"'),
        "mini.toml: clock.speedup: got 'fast'; must be a number",
    ),
    (
        "a typo in a key",
        with_clock("speedup = 260", "speedup = 260\nspeeduq = 2"),
        "mini.toml: clock.speeduq: unknown key; valid keys here: start, zone, duration, speedup",
    ),
    (
        "duration without a unit",
        with_clock('duration = "13h"', "duration = 13"),
        "mini.toml: clock.duration: got 13; must be a duration like 90s, 15m, 2h, 1d "
        "(units ms, s, m, h, d; e.g. 1h30m, 2.8m); a bare number has no unit",
    ),
    (
        "duration with an unknown unit",
        with_clock('duration = "13h"', 'duration = "13 hours"'),
        "mini.toml: clock.duration: got '13 hours'; must be a duration like 90s, 15m, 2h, 1d "
        "(units ms, s, m, h, d; e.g. 1h30m, 2.8m)",
    ),
    (
        "zero duration",
        with_clock('duration = "13h"', 'duration = "0s"'),
        "mini.toml: clock.duration: got '0s'; must be a duration like 90s, 15m, 2h, 1d "
        "(units ms, s, m, h, d; e.g. 1h30m, 2.8m), greater than 0",
    ),
    (
        "missing duration",
        with_clock('duration = "13h"\n', ""),
        "mini.toml: clock.duration: missing; required: a duration like 90s, 15m, 2h, 1d "
        "(units ms, s, m, h, d; e.g. 1h30m, 2.8m), greater than 0; length of the run "
        "(simulated clock)",
    ),
    (
        "unknown zone",
        with_clock('zone = "WITA"', 'zone = "CET"'),
        "mini.toml: clock.zone: got 'CET'; must be one of 'WIB', 'WITA' or 'WIT'",
    ),
    (
        "start with an offset",
        with_clock('start = "2024-02-14 13:00"', "start = 2024-02-14T13:00:00+08:00"),
        "mini.toml: clock.start: got the TOML date/time 2024-02-14T13:00:00+08:00; must be a "
        'local date and time like "2024-02-14 13:00" (the zone is clock.zone), without a UTC '
        "offset",
    ),
    (
        "start not a date",
        with_clock('start = "2024-02-14 13:00"', 'start = "Valentine\'s day"'),
        'mini.toml: clock.start: got "Valentine\'s day"; must be a local date and time like '
        '"2024-02-14 13:00" (the zone is clock.zone)',
    ),
    (
        "a name with capitals",
        MINIMAL.replace('name = "mini"', 'name = "Mini Run"'),
        "mini.toml: name: got 'Mini Run'; must be lower-case letters, digits, '_', '-' or '.', "
        "starting with a letter or digit, like 'kuta_selatan_2024'",
    ),
    (
        "an unknown section",
        MINIMAL + "\n[clients]\nelections = ['ppwp']\n",
        "mini.toml: clients: unknown key; valid keys here: name, description, clock, population, "
        "arrival, client, quality, plenary, target, proxies, faults, slo",
    ),
    (
        "sample above one",
        MINIMAL.replace("seed = 7", "seed = 7\nsample = 2"),
        "mini.toml: population.sample: got 2; must be a number > 0 and <= 1",
    ),
    (
        "seed as a float",
        MINIMAL.replace("seed = 7", "seed = 7.5"),
        "mini.toml: population.seed: got 7.5; must be an integer",
    ),
    (
        "unknown scale",
        MINIMAL.replace('scale = "regions"', 'scale = "planet"'),
        "mini.toml: population.scale: got 'planet'; must be one of 'regions', 'provinces' or "
        "'national'",
    ),
    (
        "short desa code",
        MINIMAL.replace('code = "5103051004"', 'code = "510305"'),
        "mini.toml: population.regions[0].code: got '510305'; must be a 10-digit desa/kelurahan "
        "code like '5103051004'",
    ),
    (
        "too many voters for the TPS",
        MINIMAL.replace("tps = 20", "tps = 20\ndpt = 6001"),
        "mini.toml: population.regions[0].dpt: got 6001; must be <= 6000 (20 TPS of at most 300 "
        "voters each)",
    ),
    (
        "a province with no known zone",
        MINIMAL.replace('code = "5103051004"', 'code = "9903051004"'),
        "mini.toml: population.regions[0].zone: missing; required: province '99' of code "
        "'9903051004' is not one of the 38 provinces, so its time zone is unknown (WIB, WITA or "
        "WIT)",
    ),
    (
        "the same desa twice",
        MINIMAL + '\n[[population.regions]]\ncode = "5103051004"\ntps = 3\n',
        "mini.toml: population.regions[1].code: got '5103051004'; duplicate of regions[0].code",
    ),
    (
        "regions missing for scale regions",
        MINIMAL.split("[[population.regions]]")[0],
        'mini.toml: population.regions: missing; required with scale = "regions": add '
        "[[population.regions]] tables",
    ),
    (
        "provinces with scale national",
        MINIMAL.split("[[population.regions]]")[0].replace('"regions"', '"national"')
        + 'provinces = ["51"]\n',
        "mini.toml: population.provinces: got ['51']; only valid with scale = \"provinces\" "
        "(scale is 'national')",
    ),
    (
        "an unknown province",
        MINIMAL.split("[[population.regions]]")[0].replace('"regions"', '"provinces"')
        + 'provinces = ["51", "00"]\n',
        "mini.toml: population.provinces[1]: got '00'; must be a province code, one of 11, 12, 13",
    ),
    (
        "a presidential form with 4 pages",
        MINIMAL + "\n[population.forms]\nppwp = 4\n",
        "mini.toml: population.forms.ppwp: got 4; must be 3 (the presidential C.Hasil form has 3 "
        "pages)",
    ),
    (
        "a legislative form over the mock's page limit",
        MINIMAL + "\n[population.forms]\npdpr = 31\n",
        "mini.toml: population.forms.pdpr: got 31; must be an integer >= 1 and <= 30",
    ),
    (
        "photo p95 below the median",
        MINIMAL + '\n[population.photo_size]\nmedian = "1MB"\np95 = "500kB"\n',
        "mini.toml: population.photo_size.p95: got 500 kB; must be >= median (1 MB)",
    ),
    (
        "a photo size without unit",
        MINIMAL + "\n[population.photo_size]\nmedian = 1200000\n",
        "mini.toml: population.photo_size.median: got 1200000; must be a size like 1.2MB, 300kB, "
        "2MiB (units B, kB, MB, GB, KiB, MiB, GiB)",
    ),
    (
        "DPT mean above max",
        MINIMAL + "\n[population.dpt]\nmean = 280\nmax = 250\n",
        "mini.toml: population.dpt.mean: got 280.0; must lie between min (50) and max (250)",
    ),
    (
        "DPT max above 300",
        MINIMAL + "\n[population.dpt]\nmax = 400\n",
        "mini.toml: population.dpt.max: got 400; must be an integer >= 1 and <= 300",
    ),
    (
        "a curve going back in time",
        MINIMAL + '\n[arrival]\ncurve = [["13:00", 0.0], ["12:00", 0.5]]\n',
        "mini.toml: arrival.curve[1][0]: got '12:00'; must be later than the previous point "
        "'13:00'",
    ),
    (
        "a curve that falls",
        MINIMAL + '\n[arrival]\ncurve = [["13:00", 0.0], ["18:00", 0.5], ["20:00", 0.4]]\n',
        "mini.toml: arrival.curve[2][1]: got 0.4; must be >= the previous fraction 0.5 (the "
        "curve is cumulative)",
    ),
    (
        "a curve not starting at zero",
        MINIMAL + '\n[arrival]\ncurve = [["13:00", 0.1], ["18:00", 0.5]]\n',
        "mini.toml: arrival.curve[0][1]: got 0.1; must be 0: the curve starts where no TPS has "
        "finished counting",
    ),
    (
        "a curve point that is not a pair",
        MINIMAL + '\n[arrival]\ncurve = [["13:00", 0.0], "18:00"]\n',
        "mini.toml: arrival.curve[1]: got '18:00'; must be a pair [time of day, fraction] like "
        '["18:00", 0.1]',
    ),
    (
        "a curve with an offset",
        MINIMAL + '\n[arrival]\ncurve = [["13:00", 0.0], ["+2h", 0.5]]\n',
        "mini.toml: arrival.curve[1][0]: got '+2h'; must be a time of day like 14:30 or +1d 06:00",
    ),
    (
        "a curve for an unknown zone",
        MINIMAL + '\n[arrival.zone_curves]\nUTC = [["13:00", 0.0], ["18:00", 1.0]]\n',
        "mini.toml: arrival.zone_curves.UTC: got key 'UTC'; keys must be one of 'WIB', 'WITA' or "
        "'WIT'",
    ),
    (
        "an offline fraction above one",
        MINIMAL + "\n[arrival]\noffline_fraction = 1.5\n",
        "mini.toml: arrival.offline_fraction: got 1.5; must be a number >= 0 and <= 1",
    ),
    (
        "an offline delay range upside down",
        MINIMAL + '\n[arrival]\noffline_delay = ["6h", "1h"]\n',
        "mini.toml: arrival.offline_delay: got ['6h', '1h']; must be [min, max] with min <= max",
    ),
    (
        "an unknown election",
        MINIMAL + '\n[client]\nelections = ["ppwp", "dprd"]\n',
        "mini.toml: client.elections[1]: got 'dprd'; must be one of 'ppwp', 'pdpr', 'pdpd', "
        "'pdprdp' or 'pdprdk'",
    ),
    (
        "no election at all",
        MINIMAL + "\n[client]\nelections = []\n",
        "mini.toml: client.elections: got []; must have at least 1 item(s)",
    ),
    (
        "an election twice",
        MINIMAL + '\n[client]\nelections = ["ppwp", "ppwp"]\n',
        "mini.toml: client.elections[1]: got 'ppwp'; duplicate election",
    ),
    (
        "an unknown retry policy",
        MINIMAL + '\n[client.retry]\npolicy = "linear"\n',
        "mini.toml: client.retry.policy: got 'linear'; must be one of 'none', 'fixed' or "
        "'exponential'",
    ),
    (
        "attempts with no retries",
        MINIMAL + '\n[client.retry]\npolicy = "none"\nmax_attempts = 3\n',
        'mini.toml: client.retry.max_attempts: got 3; must be 1 with policy = "none" (or choose '
        'policy "fixed" or "exponential")',
    ),
    (
        "a back-off cap below the first delay",
        MINIMAL + '\n[client.retry]\ndelay = "10m"\ncap = "1m"\n',
        "mini.toml: client.retry.cap: got 1m; must be >= delay (10m)",
    ),
    (
        "a boolean written as text",
        MINIMAL + '\n[client]\nnew_connection_per_upload = "yes"\n',
        "mini.toml: client.new_connection_per_upload: got 'yes'; must be true or false",
    ),
    (
        "three devices per TPS",
        MINIMAL + "\n[client]\ndevices_per_tps = 3\n",
        "mini.toml: client.devices_per_tps: got 3; must be one of 1 or 2",
    ),
    (
        "a target that is not http",
        MINIMAL + '\n[target]\nurl = "ftp://example.org"\n',
        "mini.toml: target.url: got 'ftp://example.org'; must be an http:// or https:// URL like "
        '"http://127.0.0.1:8000"',
    ),
    (
        "both a URL and the mock",
        MINIMAL + '\n[target]\nurl = "http://127.0.0.1:9"\n[target.mock]\nworkers = 2\n',
        "mini.toml: target.mock: got url 'http://127.0.0.1:9' and [target.mock]; give either url "
        "(a real service) or [target.mock] (the mock), not both",
    ),
    (
        "no workers",
        MINIMAL + "\n[target.mock]\nworkers = 0\n",
        "mini.toml: target.mock.workers: got 0; must be an integer >= 1",
    ),
    (
        "a fractional Retry-After",
        MINIMAL + '\n[target.mock]\nretry_after = "1.5s"\n',
        "mini.toml: target.mock.retry_after: got '1.5s'; must be a whole number of seconds, like "
        "30s or 2m",
    ),
    (
        "an unknown endpoint",
        MINIMAL + '\n[target.mock.service_time.upload]\nmedian = "1s"\np95 = "2s"\n',
        "mini.toml: target.mock.service_time.upload: unknown key; valid keys here: session, page, "
        "result, read, recap",
    ),
    (
        "a service time p95 below its median",
        MINIMAL + '\n[target.mock.service_time.page]\nmedian = "2s"\np95 = "1s"\n',
        "mini.toml: target.mock.service_time.page.p95: got 1s; must be >= median (2s)",
    ),
    (
        "a blank SLO",
        MINIMAL + '\n[slo]\nchecks = ["page.p95 < 5s", "  "]\n',
        "mini.toml: slo.checks[1]: got '  '; must be a non-empty SLO expression",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_each_malformed_scenario_gets_one_precise_error_line(text: str, expected: str) -> None:
    lines = errors_of(text)
    assert expected in lines or any(line.startswith(expected) for line in lines), lines


FAULT = '\n[[faults]]\nlayer = "{layer}"\nkind = "{kind}"\nstart = "{start}"\n{end}\n'


def fault(layer: str = "network", kind: str = "down", start: str = "14:30", end: str = "") -> str:
    return FAULT.format(layer=layer, kind=kind, start=start, end=end or 'end = "16:30"')


FAULT_CASES = [
    (
        "a kind from another layer",
        fault(kind="kill"),
        "mini.toml: faults[0].kind: got 'kill'; must be a network fault: one of down, latency, "
        "bandwidth, timeout, reset, slicer, limit_data, slow_close, flaky",
    ),
    (
        "an unknown layer",
        fault(layer="disk"),
        "mini.toml: faults[0].layer: got 'disk'; must be one of 'network', 'server', 'process' "
        "or 'command'",
    ),
    (
        "no end and no duration",
        fault(end="# nothing"),
        "mini.toml: faults[0].end: missing; required: give end (like 16:30 or +2h) or duration "
        "(like 2h)",
    ),
    (
        "both end and duration",
        fault(end='end = "16:30"\nduration = "2h"'),
        "mini.toml: faults[0].duration: got end '16:30' and duration; give end or duration, not "
        "both",
    ),
    (
        "a window before the run",
        fault(start="12:00"),
        "mini.toml: faults[0].start: got '12:00'; starts 2024-02-14 12:00 WITA, before the run "
        "(2024-02-14 13:00 WITA to 2024-02-15 02:00 WITA); must lie inside the run",
    ),
    (
        "a window past the run",
        fault(end='end = "+1d 03:00"'),
        "mini.toml: faults[0].end: got '+1d 03:00'; ends 2024-02-15 03:00 WITA, after the run "
        "(2024-02-14 13:00 WITA to 2024-02-15 02:00 WITA); must lie inside the run",
    ),
    (
        "a duration running past the run",
        fault(start="+12h", end='duration = "2h"'),
        "mini.toml: faults[0].duration: got 2h; ends 2024-02-15 03:00 WITA, after the run",
    ),
    (
        "an empty window",
        fault(start="15:00", end='end = "15:00"'),
        "mini.toml: faults[0].end: got '15:00'; ends 2024-02-14 15:00 WITA, not after its start "
        "2024-02-14 15:00 WITA; must be later",
    ),
    (
        "a bad time of day",
        fault(start="25:00"),
        "mini.toml: faults[0].start: got '25:00'; must be a time of day like 14:30 or +1d 06:00, "
        "or an offset from the start like +2h (hours 00-23",
    ),
    (
        "a nested table in params",
        fault() + "params = { toxic = { rate = 1 } }\n",
        "mini.toml: faults[0].params.toxic: got a table {rate}; must be a string, number, boolean "
        "or an array of those",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in FAULT_CASES], ids=[c[0] for c in FAULT_CASES]
)
def test_each_malformed_fault_window_gets_one_precise_error_line(text: str, expected: str) -> None:
    lines = errors_of(MINIMAL + text)
    assert any(line.startswith(expected) for line in lines), lines


def test_every_problem_in_a_file_is_reported_together() -> None:
    text = (
        with_clock("speedup = 260", "speedup = 0").replace("seed = 7", 'seed = "seven"')
        + '\n[client]\nelections = ["pres"]\n'
    )
    lines = errors_of(text)
    assert lines == [
        "mini.toml: clock.speedup: got 0; must be a number > 0",
        "mini.toml: population.seed: got 'seven'; must be an integer",
        "mini.toml: client.elections[0]: got 'pres'; must be one of 'ppwp', 'pdpr', 'pdpd', "
        "'pdprdp' or 'pdprdk'",
    ]


def test_a_toml_syntax_error_names_the_file_and_the_line() -> None:
    lines = errors_of('name = "x"\n[clock\nstart = 1\n', "broken.toml")
    assert len(lines) == 1
    assert lines[0].startswith("broken.toml: not valid TOML: ")
    assert "line 2" in lines[0]


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: cannot read: No such file or directory"


def test_a_folder_a_fifo_or_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # reading it would block for ever
    for path in (tmp_path, fifo):
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        assert str(caught.value) == f"{path}: cannot read: not a file"
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"#" * 5_000_001)
    with pytest.raises(ScenarioError, match=r"cannot read: 5,000,001 bytes, more than a scenario"):
        load_scenario(huge)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Jimbarán"'.encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1.toml: cannot read: not UTF-8 text"):
        load_scenario(path)


def test_missing_required_sections_are_named() -> None:
    lines = errors_of('name = "x"\n')
    assert lines == [
        "mini.toml: clock: missing; required: a table",
        "mini.toml: population: missing; required: a table",
    ]


def test_optional_sections_take_their_documented_defaults() -> None:
    loaded = scenario()
    assert loaded.client.elections == ("ppwp",)
    assert loaded.target.mock is not None and loaded.target.url is None
    assert loaded.arrival.page_span.median == 168.0  # 2.8 minutes
    assert loaded.population.forms.ppwp == 3
    assert loaded.timeline == ()
    assert loaded.source == "mini.toml"
