"""Exit codes of every command, and the one error base that carries its code.

The table is the contract CI relies on: ``run``, ``report``, ``plan``, ``check``, the locustfile
and the mock's own command all exit by it. Errors of the harness, the generator and the reports
derive from :class:`LoadtestError` and carry their code; the command line maps them to exit codes
in one place (``harness.cli``). The mock and the fault layer stand alone and keep their own.
"""

from __future__ import annotations

from typing import ClassVar, Final

OK: Final = 0  # every SLO met (or not applicable)
BREACHED: Final = 1  # an SLO breached
USAGE: Final = 2  # a bad option or scenario: the message says what is valid
INFRASTRUCTURE: Final = 3  # a part would not start, died, or the target refused
INCONCLUSIVE: Final = 4  # the figures cannot be trusted, or an SLO could not be measured

MEANING: Final = {
    OK: "every SLO met",
    BREACHED: "an SLO breached",
    USAGE: "usage or scenario error",
    INFRASTRUCTURE: "a part would not start or failed (harness or infrastructure)",
    INCONCLUSIVE: "inconclusive: the figures cannot be trusted or an SLO was not measured",
}


class LoadtestError(Exception):
    """An error the command line reports as one line per message line, with its exit code."""

    exit_code: ClassVar[int] = INFRASTRUCTURE


class UsageError(LoadtestError, ValueError):
    """A bad option, file or scenario (exit code 2); the message says what is valid."""

    exit_code: ClassVar[int] = USAGE


class StartError(LoadtestError, RuntimeError):
    """A part of the run would not start, or failed (exit code 3); the message says which."""

    exit_code: ClassVar[int] = INFRASTRUCTURE


def code_of(error: BaseException) -> int | None:
    """The exit code an error carries (a :class:`LoadtestError`, or any error whose class says
    ``exit_code``, as ``scenarios.ScenarioError`` does without importing this); None if none."""
    code = getattr(type(error), "exit_code", None)
    return code if isinstance(code, int) else None


class Inconclusive(LoadtestError):
    """The run cannot give figures to trust (exit code 4); the message says why."""

    exit_code: ClassVar[int] = INCONCLUSIVE
