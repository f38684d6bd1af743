"""The ``[quality]`` section: digit misreads in the numbers a device reads off a C.Hasil form.

The Sirekap app reads the numbers on the device (OMR/OCR) and sometimes reads a digit wrong: 3->8,
2->7, 4->9, 41->91 (national and regional press, 2024). ``misread_fraction`` of the TPS forms of
``elections`` carry such a misread in their FIRST upload. A ``consistent_fraction`` of them still
add up (the misread propagated into the sums), so the server's ballot arithmetic accepts them and
only the kecamatan plenary can catch them; the others break a ballot rule, the server answers 422,
and the officer fixes the numbers (``officer_fix`` later, simulated clock) and sends the truth.

Without a ``[quality]`` section nothing is misread; a written section without keys takes 2024's
figures. Which forms are misread, and how, is deterministic from the population seed
(:mod:`scenarios.workload.misreads`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from scenarios.schema.errors import FieldError, raise_if_any
from scenarios.schema.fields import DurationRange, Section
from scenarios.schema.population import ELECTIONS, Election

# National and regional press, 2024: 154,541 of 638,497 presidential TPS (24.2%) were corrected
# by 27 Feb.
MISREAD_FRACTION_2024 = 0.242
# est.: 8% of a Jakarta sample of TPS had candidate votes that did not add up to the valid-vote
# total (national and regional press, 2024); if 24.2% of TPS carried a misread, 8 / 24.2 = 33% of
# misread forms broke the arithmetic and 67% still added up.
CONSISTENT_FRACTION_2024 = 0.67


def unique_elections(value: tuple[Election, ...]) -> tuple[Election, ...]:
    """No election twice; kept in counting order (ppwp, pdpr, pdpd, pdprdp, pdprdk)."""
    raise_if_any(
        [
            FieldError("duplicate election", given=election, path=(index,))
            for index, election in enumerate(value)
            if election in value[:index]
        ]
    )
    return tuple(election for election in ELECTIONS if election in value)


class QualitySpec(Section):
    """Which forms are misread on their first upload; see the module doc."""

    misread_fraction: float = Field(
        default=MISREAD_FRACTION_2024,
        ge=0,
        le=1,
        description="share of TPS forms whose first upload carries a digit misread",
    )
    elections: Annotated[tuple[Election, ...], Field(strict=False, min_length=1)] = ("ppwp",)
    consistent_fraction: float = Field(
        default=CONSISTENT_FRACTION_2024,
        ge=0,
        le=1,
        description="share of misread forms whose numbers still add up",
    )
    # est.: the officer sees the refusal, reads the form again and corrects the numbers.
    officer_fix: DurationRange = Field(
        default=(300.0, 1800.0),
        description="simulated clock: from the 422 to the corrected submission",
    )

    @field_validator("elections")
    @classmethod
    def _unique(cls, value: tuple[Election, ...]) -> tuple[Election, ...]:
        return unique_elections(value)

    @property
    def active(self) -> bool:
        return self.misread_fraction > 0


NO_MISREADS = QualitySpec(misread_fraction=0.0)
"""The scenario's default when it has no ``[quality]`` section."""
