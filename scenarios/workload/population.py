"""The population of a run: TPS records with voters, devices and credentials, and page sizes.

:func:`build_population` is deterministic: the same scenario (same seed) gives the same TPS, the
same DPT, page sizes and device secrets, hence the same ballots (:mod:`scenarios.workload.ballots`),
photos (:mod:`scenarios.workload.photos`) and registry file (:mod:`scenarios.mock_inputs.registry`).
Each TPS's values come from its own random stream, so sampling changes which TPS are in a run,
not what they hold.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from scenarios.schema.geography import DEVICES_PER_TPS, PROVINCE_BY_CODE, region_path
from scenarios.schema.population import ELECTIONS, Election, PhotoSizeSpec, PopulationSpec, Scale
from scenarios.schema.units import Zone
from scenarios.workload.ballots import ResultBody, result_body
from scenarios.workload.photos import page_photo
from scenarios.workload.regions import DesaPlan, plan_regions
from scenarios.workload.sampling import lognormal_sigma, lognormals, stream

if TYPE_CHECKING:
    from scenarios.schema.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Device:
    """One KPPS device of a TPS and its login secret."""

    device_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class Tps:
    """One polling station.

    ``pages[election]`` holds the photo size in bytes of each page of that election's form.
    """

    code: str
    zone: Zone
    dpt: int
    devices: tuple[Device, ...]
    pages: Mapping[Election, tuple[int, ...]] = field(hash=False)

    @property
    def desa(self) -> str:
        return self.code[:10]

    @property
    def kecamatan(self) -> str:
        return self.code[:6]

    @property
    def kabkota(self) -> str:
        return self.code[:4]

    @property
    def provinsi(self) -> str:
        return self.code[:2]

    @property
    def number(self) -> int:
        """The TPS number within its desa (1-999)."""
        return int(self.code[10:])

    @property
    def region_path(self) -> tuple[str, ...]:
        """Codes from the province down to this TPS."""
        return region_path(self.code)

    def form_bytes(self, election: Election) -> int:
        return sum(self.pages[election])


@dataclass(frozen=True)
class Population:
    """The TPS of one run (after sampling) and what is needed to describe them."""

    seed: int
    scale: Scale
    sample: float
    real_tps: int
    """TPS in the modelled population before sampling."""
    tps: tuple[Tps, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    _by_code: dict[str, Tps] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {tps.code: tps for tps in self.tps})

    def __len__(self) -> int:
        return len(self.tps)

    def __iter__(self) -> Iterator[Tps]:
        return iter(self.tps)

    def get(self, code: str) -> Tps:
        """The TPS with this 13-digit code; KeyError naming it if it is not in the run."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"TPS {code} is not in this population") from None

    def name_of(self, code: str) -> str:
        """The name of a region (given in the scenario, a province, or a generated label)."""
        if code in self.names:
            return self.names[code]
        if len(code) == 2 and code in PROVINCE_BY_CODE:
            return PROVINCE_BY_CODE[code].name
        labels = {4: "Kab/Kota", 6: "Kecamatan", 10: "Desa"}
        if len(code) == 13:
            return f"TPS {int(code[10:]):03d}"
        return f"{labels.get(len(code), 'Region')} {code}"

    def result_body(self, tps: Tps | str, election: Election) -> ResultBody:
        """The true result (chart and administrasi) of a TPS's form (scenarios.workload.ballots)."""
        return result_body(self.seed, tps if isinstance(tps, Tps) else self.get(tps), election)

    def photo(self, tps: Tps | str, election: Election, page: int) -> bytes:
        """The bytes of one page photo (0-based ``page``); see scenarios.workload.photos."""
        record = tps if isinstance(tps, Tps) else self.get(tps)
        return page_photo(self.seed, record, election, page)

    @property
    def zones(self) -> Counter[Zone]:
        return Counter(tps.zone for tps in self.tps)

    @property
    def total_dpt(self) -> int:
        return sum(tps.dpt for tps in self.tps)


def device_secret(seed: int, device_id: str) -> str:
    """A device's login secret: 32 hex digits, deterministic from the seed."""
    key = f"sirekap-loadtest/{seed}".encode()
    return hmac.new(key, device_id.encode(), hashlib.sha256).hexdigest()[:32]


def build_population(scenario: Scenario | PopulationSpec) -> Population:
    """Every TPS of the scenario's population (sampled), in region-code order."""
    spec = scenario if isinstance(scenario, PopulationSpec) else scenario.population
    records: list[Tps] = []
    names: dict[str, str] = {}
    for kecamatan in plan_regions(spec):
        keep = stream(spec.seed, "sample", kecamatan.code) if spec.sample < 1 else None
        for desa in kecamatan.desa:
            shares = _dpt_shares(desa)
            for number in range(1, desa.tps + 1):
                if keep is not None and keep.random() >= spec.sample:
                    continue
                records.append(_tps(spec, desa, number, shares[number - 1] if shares else None))
    for region in spec.regions:
        if region.name:
            names[region.code] = region.name
    names.update(spec.names)
    return Population(spec.seed, spec.scale, spec.sample, spec.real_tps, tuple(records), names)


def _dpt_shares(desa: DesaPlan) -> list[int] | None:
    """A desa's given DPT split as evenly as it goes over its TPS (None: draw per TPS)."""
    if desa.dpt_total is None:
        return None
    base, extra = divmod(desa.dpt_total, desa.tps)
    return [base + (1 if number < extra else 0) for number in range(desa.tps)]


def _tps(spec: PopulationSpec, desa: DesaPlan, number: int, dpt: int | None) -> Tps:
    code = f"{desa.code}{number:03d}"
    rng = stream(spec.seed, "tps", code)
    drawn = round(rng.normalvariate(spec.dpt.mean, spec.dpt.sd))
    voters = dpt if dpt is not None else min(spec.dpt.max, max(spec.dpt.min, drawn))
    pages = {
        election: _photo_sizes(rng, spec.forms.pages(election), spec.photo_size)
        for election in ELECTIONS
    }
    devices = tuple(
        Device(device_id, device_secret(spec.seed, device_id))
        for device_id in (f"{code}-{index}" for index in range(1, DEVICES_PER_TPS + 1))
    )
    return Tps(code, desa.zone, voters, devices, MappingProxyType(pages))


def _photo_sizes(rng: random.Random, count: int, spec: PhotoSizeSpec) -> tuple[int, ...]:
    sigma = lognormal_sigma(spec.median, spec.p95)
    low = spec.min if spec.min is not None else 1
    high = spec.max if spec.max is not None else sys.maxsize
    return tuple(
        min(high, max(low, round(size))) for size in lognormals(rng, count, spec.median, sigma)
    )
