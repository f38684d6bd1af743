"""The ``[population]`` section: which TPS exist, their voters, forms, pages and photo sizes.

Three scales:

- ``regions``: explicit desa/kelurahan (``[[population.regions]]`` with code, name, TPS count and
  optionally the desa's total DPT); parent regions are named in ``[population.names]``.
- ``provinces``: the listed provinces, generated from the distributions of KawalPemilu's public
  region/TPS list (scenarios/FACTS.md).
- ``national``: all 38 provinces, generated the same way.

``sample`` keeps that fraction of the TPS (each TPS independently, deterministic from ``seed``).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import Field, field_validator, model_validator

from scenarios.schema.errors import MISSING, FieldError, Shown, raise_if_any
from scenarios.schema.fields import Section, Size
from scenarios.schema.geography import MAX_DPT_PER_TPS, PROVINCE_BY_CODE, is_code, zone_of
from scenarios.schema.units import Zone, format_size

Election = Literal["ppwp", "pdpr", "pdpd", "pdprdp", "pdprdk"]
# The five ballots (KPU public results JSON, its paths), in the order a KPPS counts them.
ELECTIONS: Final[tuple[Election, ...]] = get_args(Election)
LEGISLATIVE: Final[tuple[Election, ...]] = ELECTIONS[1:]
# The mock accepts at most 30 pages per form.
MAX_PAGES_PER_FORM: Final = 30

Scale = Literal["regions", "provinces", "national"]
_Pages = Annotated[int, Field(ge=1, le=MAX_PAGES_PER_FORM)]


class FormsSpec(Section):
    """Pages per C.Hasil form, by election."""

    # The presidential C.Hasil form has 3 pages (scenarios/FACTS.md; the mock requires exactly 3).
    ppwp: int = 3
    # About 60 legislative pages per TPS in all (scenarios/FACTS.md), so 15 for each of the four
    # forms.
    pdpr: _Pages = 15
    pdpd: _Pages = 15
    pdprdp: _Pages = 15
    pdprdk: _Pages = 15

    @field_validator("ppwp")
    @classmethod
    def _three_pages(cls, value: int) -> int:
        if value != 3:
            raise FieldError("must be 3 (the presidential C.Hasil form has 3 pages)")
        return value

    def pages(self, election: Election) -> int:
        pages: int = getattr(self, election)
        return pages


class DptSpec(Section):
    """Voters per TPS for generated TPS: a normal distribution clamped to [min, max]."""

    # okezone, 2 Jul 2023: 204,807,222 voters over 823,220 TPS, 248.8 per TPS on average.
    mean: float = Field(default=249.0, gt=0, le=MAX_DPT_PER_TPS)
    sd: float = Field(default=35.0, ge=0)  # est.
    min: int = Field(default=50, ge=1, le=MAX_DPT_PER_TPS)  # est.
    # rmol.id, 15 May 2024: at most 300 voters per TPS.
    max: int = Field(default=MAX_DPT_PER_TPS, ge=1, le=MAX_DPT_PER_TPS)

    @model_validator(mode="after")
    def _ordered(self) -> DptSpec:
        if not self.min <= self.mean <= self.max:
            raise FieldError(
                f"must lie between min ({self.min}) and max ({self.max})",
                given=self.mean,
                path=("mean",),
            )
        return self


class PhotoSizeSpec(Section):
    """Size of one page photo: log-normal by median and p95, optionally clamped."""

    # Photo size is not published; est. 1-1.5 MB per page.
    median: Size = 1_200_000
    p95: Size = 1_500_000
    min: Size | None = None
    max: Size | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PhotoSizeSpec:
        errors = []
        if self.p95 < self.median:
            errors.append(
                FieldError(
                    f"must be >= median ({format_size(self.median)})",
                    given=Shown(format_size(self.p95)),
                    path=("p95",),
                )
            )
        if self.min is not None and self.min > self.median:
            errors.append(
                FieldError(
                    f"must be <= median ({format_size(self.median)})",
                    given=Shown(format_size(self.min)),
                    path=("min",),
                )
            )
        if self.max is not None and self.max < self.median:
            errors.append(
                FieldError(
                    f"must be >= median ({format_size(self.median)})",
                    given=Shown(format_size(self.max)),
                    path=("max",),
                )
            )
        raise_if_any(errors)
        return self


class RegionSpec(Section):
    """One desa/kelurahan with its TPS."""

    code: str = Field(description="10-digit desa/kelurahan code")
    name: str = ""
    tps: int = Field(ge=1, le=999, description="number of TPS in the desa")
    dpt: int | None = Field(
        default=None, ge=1, description="total voters in the desa; default: drawn per TPS"
    )
    zone: Zone | None = Field(default=None, description="default: the province's zone")

    @field_validator("code")
    @classmethod
    def _desa_code(cls, value: str) -> str:
        if not is_code(value, "desa"):
            raise FieldError("must be a 10-digit desa/kelurahan code like '5103051004'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RegionSpec:
        errors = []
        if self.dpt is not None and self.dpt < self.tps:
            errors.append(
                FieldError(
                    f"must be >= {self.tps} (at least one voter for each of the {self.tps} TPS)",
                    given=self.dpt,
                    path=("dpt",),
                )
            )
        if self.dpt is not None and self.dpt > self.tps * MAX_DPT_PER_TPS:
            errors.append(
                FieldError(
                    f"must be <= {self.tps * MAX_DPT_PER_TPS} ({self.tps} TPS of at most "
                    f"{MAX_DPT_PER_TPS} voters each)",
                    given=self.dpt,
                    path=("dpt",),
                )
            )
        if self.zone is None and zone_of(self.code) is None:
            errors.append(
                FieldError(
                    f"required: province {self.code[:2]!r} of code {self.code!r} is not one of "
                    "the 38 provinces, so its time zone is unknown (WIB, WITA or WIT)",
                    given=MISSING,
                    path=("zone",),
                )
            )
        raise_if_any(errors)
        return self


class PopulationSpec(Section):
    """The TPS of the run; see the module doc for the three scales."""

    scale: Scale
    seed: int = Field(description="seed of everything random: regions, TPS, ballots, secrets")
    sample: float = Field(default=1.0, gt=0, le=1, description="fraction of the TPS simulated")
    provinces: Annotated[tuple[str, ...], Field(strict=False)] = ()
    regions: Annotated[tuple[RegionSpec, ...], Field(strict=False)] = ()
    names: dict[str, str] = Field(default_factory=dict, description="region code -> name")
    forms: FormsSpec = FormsSpec()
    dpt: DptSpec = DptSpec()
    photo_size: PhotoSizeSpec = PhotoSizeSpec()

    @field_validator("provinces")
    @classmethod
    def _known_provinces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        errors = [
            FieldError(
                "must be a province code, one of " + ", ".join(PROVINCE_BY_CODE),
                given=code,
                path=(index,),
            )
            for index, code in enumerate(value)
            if code not in PROVINCE_BY_CODE
        ]
        errors += [
            FieldError("duplicate province", given=code, path=(index,))
            for index, code in enumerate(value)
            if code in value[:index]
        ]
        raise_if_any(errors)
        return value

    @field_validator("names")
    @classmethod
    def _name_codes(cls, value: dict[str, str]) -> dict[str, str]:
        levels = ("provinsi", "kabkota", "kecamatan", "desa")
        raise_if_any(
            [
                FieldError(
                    "keys must be region codes of 2, 4, 6 or 10 digits", given=code, path=(code,)
                )
                for code in value
                if not any(is_code(code, level) for level in levels)
            ]
        )
        return value

    @model_validator(mode="after")
    def _scale_fits(self) -> PopulationSpec:
        errors: list[FieldError] = []
        if self.scale == "regions" and not self.regions:
            errors.append(
                FieldError(
                    'required with scale = "regions": add [[population.regions]] tables',
                    given=MISSING,
                    path=("regions",),
                )
            )
        if self.scale != "regions" and self.regions:
            errors.append(
                FieldError(
                    f'only valid with scale = "regions" (scale is {self.scale!r})',
                    given=Shown(f"{len(self.regions)} regions"),
                    path=("regions",),
                )
            )
        if self.scale == "provinces" and not self.provinces:
            errors.append(
                FieldError(
                    'required with scale = "provinces": a list of province codes like ["51"]',
                    given=MISSING,
                    path=("provinces",),
                )
            )
        if self.scale != "provinces" and self.provinces:
            errors.append(
                FieldError(
                    f'only valid with scale = "provinces" (scale is {self.scale!r})',
                    given=list(self.provinces),
                    path=("provinces",),
                )
            )
        seen: dict[str, int] = {}
        for index, region in enumerate(self.regions):
            if region.code in seen:
                errors.append(
                    FieldError(
                        f"duplicate of regions[{seen[region.code]}].code",
                        given=region.code,
                        path=("regions", index, "code"),
                    )
                )
            seen.setdefault(region.code, index)
        raise_if_any(errors)
        return self

    @property
    def real_tps(self) -> int:
        """TPS in the modelled population before sampling."""
        if self.scale == "regions":
            return sum(region.tps for region in self.regions)
        codes = self.provinces if self.scale == "provinces" else tuple(PROVINCE_BY_CODE)
        return sum(PROVINCE_BY_CODE[code].tps for code in codes)
