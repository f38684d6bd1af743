"""The types of a command fault's argv lists, variables and timeout; errors name the field.

A command is an argv list run as given, never through a shell: ``["docker", "pause", "web-1"]``.
A string is refused rather than split, so what runs is exactly what the file says; shell syntax
needs a shell named in the list (``["sh", "-c", "..."]``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationInfo

MAX_TIMEOUT_S = 3600.0  # a command fault's timeout_s: real seconds, at most an hour
RESERVED_PREFIX = "SIREKAP_"  # the variables the harness sets for each command
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def argv_list(value: Any, info: ValidationInfo) -> Any:
    """``value`` as an argv tuple, or a ValueError naming the field and what is valid."""
    field = info.field_name or "argv"
    if value is None:
        return value  # required or optional: the model says which
    if isinstance(value, str):
        raise ValueError(
            f'{field} must be an argv list like ["docker", "pause", "web-1"], not a string '
            f'({value!r}): no shell runs it; for shell syntax give ["sh", "-c", "..."]'
        )
    if not isinstance(value, list | tuple):
        raise ValueError(f"{field} must be an argv list of strings; got {type(value).__name__}")
    if not value:
        raise ValueError(f"{field} must name a program: an argv list of at least one string")
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(
                f"{field}[{position}] must be a string (argv items are text); got {item!r}"
            )
    if not value[0].strip():
        raise ValueError(f"{field}[0] must be the program to run; got an empty string")
    return tuple(value)


def env_list(value: Any) -> Any:
    """``env`` as a tuple of ``NAME=value`` strings, names not the harness's own."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f'env must be a list of "NAME=value" strings; got {value!r}')
    for position, item in enumerate(value):
        name, equals, _ = item.partition("=") if isinstance(item, str) else ("", "", "")
        if not equals or not _NAME.fullmatch(name):
            raise ValueError(
                f'env[{position}] must be "NAME=value" (NAME: letters, digits, _); got {item!r}'
            )
        if name.upper().startswith(RESERVED_PREFIX):
            raise ValueError(
                f"env[{position}]: {name} is set by the harness for each command "
                f"({RESERVED_PREFIX}* names are reserved); choose another name"
            )
    return tuple(value)


def timeout_s(value: float) -> float:
    if not 0 < value <= MAX_TIMEOUT_S:
        raise ValueError(
            f"timeout_s must be real seconds above 0 and at most {MAX_TIMEOUT_S:g} (each "
            f"command's limit; default 30); got {value:g}"
        )
    return value


Argv = Annotated[tuple[str, ...], BeforeValidator(argv_list)]
EnvList = Annotated[tuple[str, ...], BeforeValidator(env_list)]
TimeoutS = Annotated[float, AfterValidator(timeout_s)]


def shown(argv: Sequence[str]) -> str:
    """An argv list as a shell would need it typed, for messages and plans."""
    return shlex.join(argv)
