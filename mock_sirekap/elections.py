"""The five ballots of 2024 and the shape of their C.Hasil forms."""

from __future__ import annotations

# KPU public JSON paths name five ballots (its URL paths).
PRESIDENTIAL = "ppwp"
ELECTIONS: tuple[str, ...] = ("ppwp", "pdpr", "pdpd", "pdprdp", "pdprdk")

# The presidential C.Hasil has 3 pages (press reports, scenarios/FACTS.md). Legislative forms are
# longer: about 60 pages over four ballots, one officer reported 67 in all; 30 per form is a
# generous upper bound, the scenario decides how many a device really sends.
MAX_PAGES: dict[str, int] = {"ppwp": 3, "pdpr": 30, "pdpd": 30, "pdprdp": 30, "pdprdk": 30}

# Presidential candidate pairs 01, 02, 03 in KPU's public results JSON.
PRESIDENTIAL_CANDIDATES: frozenset[str] = frozenset({"100025", "100026", "100027"})

# Region code lengths (KPU public results JSON): provinsi 2, kab/kota 4, kecamatan 6, desa 10,
# TPS 13.
REGION_LEVELS: tuple[int, ...] = (2, 4, 6, 10, 13)
NATIONAL = "0"


PAGE_FORM = "a page number is written in decimal without sign, spaces or leading zeros"


def ascii_digits(text: str) -> bool:
    """True for a non-empty string of the digits 0-9 only (``str.isdigit`` also takes "١" and
    "²")."""
    return text.isascii() and text.isdigit()


def parse_page(election: str, text: str) -> tuple[int, str | None]:
    """The page number of a path segment, and None; or 0 and the message naming what is valid.

    One page has one spelling: "1", never "01", "+1" or " 1"."""
    limit = MAX_PAGES[election]
    if not (ascii_digits(text) and text[0] != "0"):
        return 0, f"unknown page {text!r} for {election}; valid pages are 1-{limit} ({PAGE_FORM})"
    page = int(text)
    return page, page_error(election, page)


def election_error(election: str) -> str | None:
    """None for a known ballot, else the message naming the valid ones."""
    if election in MAX_PAGES:
        return None
    return f"unknown election {election!r}; valid elections: {', '.join(ELECTIONS)}"


def page_error(election: str, page: int) -> str | None:
    """None when ``page`` exists on that ballot's form, else the message naming the valid range."""
    limit = MAX_PAGES[election]
    if 1 <= page <= limit:
        return None
    return f"unknown page {page} for {election}; valid pages are 1-{limit}"


def child_level(region_code: str) -> int | None:
    """Length of the codes one level below ``region_code`` ("0": national); None if no region."""
    if region_code == NATIONAL:
        return REGION_LEVELS[0]
    if not ascii_digits(region_code) or len(region_code) not in REGION_LEVELS[:-1]:
        return None
    return REGION_LEVELS[REGION_LEVELS.index(len(region_code)) + 1]
