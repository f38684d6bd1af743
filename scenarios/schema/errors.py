"""Scenario errors: each names the file, the field path, what was given and what is valid.

Validators inside the models raise :class:`FieldError` (a ``ValueError``, so pydantic wraps it);
the loader turns every problem into an :class:`Issue` and raises one :class:`ScenarioError` that
carries all of them, so a user sees every mistake in a file at once, one line each::

    kuta.toml: clock.speedup: got -3; must be a number > 0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

Loc = tuple[str | int, ...]


class _Unset:
    """Marker for "no value given" (``None`` is a value a field may hold)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


class _Missing:
    """Marker for "this key is absent but required here"."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class Shown(str):
    """A given value already rendered for a message (printed as is, without quotes)."""

    __slots__ = ()


@dataclass(frozen=True)
class Issue:
    """One problem in one scenario file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.path}: {self.message}"
            if self.path
            else f"{self.file}: {self.message}"
        )


class ScenarioError(Exception):
    """A scenario file could not be read or is invalid; ``issues`` lists every problem."""

    exit_code: ClassVar[int] = 2  # a usage or scenario error (rundir.exits.USAGE)

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class FieldError(ValueError):
    """A field's value is wrong.

    ``valid`` says what is valid ("must be a number > 0"); ``given`` is the offending value (UNSET:
    the loader uses the input pydantic saw; MISSING: a required key is absent); ``path`` is
    relative to the model that raised it.
    """

    def __init__(self, valid: str, *, given: object = UNSET, path: Loc = ()) -> None:
        super().__init__(valid)
        self.valid = valid
        self.given = given
        self.path = path


class FieldErrors(ValueError):
    """Several field errors found by one cross-field check."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(error.valid for error in self.errors))


def raise_if_any(errors: Sequence[FieldError]) -> None:
    """Raise the errors collected by a cross-field check, if there are any."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise FieldErrors(errors)


def format_loc(loc: Loc) -> str:
    """``("faults", 2, "kind")`` -> ``faults[2].kind``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def describe(value: object, limit: int = 60) -> str:
    """A short, TOML-flavoured rendering of a value for "got ..." in an error."""
    if isinstance(value, Shown):
        text = str(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table {" + ", ".join(str(key) for key in value) + "}"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(describe(item, limit) for item in value) + "]"
    elif isinstance(value, dt.datetime | dt.date | dt.time):
        text = f"the TOML date/time {value.isoformat()}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
