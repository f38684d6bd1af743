"""Read a scenario file into a :class:`~scenarios.schema.scenario.Scenario`, or say what is wrong.

Every problem becomes one line ``FILE: FIELD.PATH: got VALUE; WHAT IS VALID``; all of a file's
problems are reported together in one :class:`~scenarios.schema.errors.ScenarioError`.
"""

from __future__ import annotations

import tomllib
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from scenarios.schema.errors import (
    MISSING,
    UNSET,
    FieldError,
    FieldErrors,
    Issue,
    Loc,
    ScenarioError,
    describe,
    format_loc,
)
from scenarios.schema.fields import type_help
from scenarios.schema.scenario import Scenario

MAX_SCENARIO_BYTES = 5_000_000  # a scenario is a page of TOML; region lists stay far below


def read_scenario_text(path: str | Path) -> str:
    """The text of the scenario file at ``path``; ScenarioError when it is not a readable text
    file (a folder, a FIFO, which would block the read, or a file far too big)."""
    label, file = str(path), Path(path)
    try:
        if file.exists() and not file.is_file():
            raise ScenarioError([Issue(label, "", "cannot read: not a file")])
        if file.exists() and file.stat().st_size > MAX_SCENARIO_BYTES:
            size = file.stat().st_size
            why = f"cannot read: {size:,} bytes, more than a scenario's {MAX_SCENARIO_BYTES:,}"
            raise ScenarioError([Issue(label, "", why)])
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([Issue(label, "", "cannot read: not UTF-8 text")]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ScenarioError([Issue(label, "", f"cannot read: {reason}")]) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate the scenario file at ``path``; raises ScenarioError listing problems."""
    return loads_scenario(read_scenario_text(path), str(path))


def loads_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and validate scenario TOML ``text``; ``source`` names it in error lines."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Issue(source, "", f"not valid TOML: {exc}")]) from None
    return scenario_from_dict(data, source)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate already-parsed TOML data."""
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(issues_from(exc, source)) from None
    return scenario.with_source(source)


def issues_from(error: ValidationError, source: str) -> list[Issue]:
    """One Issue per problem in a pydantic error, in the scenario's own words."""
    details = error.errors(include_url=False)
    # An array with a bad item is also reported as too short; the item's error says it all.
    inner = {tuple(detail["loc"][:-1]) for detail in details if len(detail["loc"]) > 1}
    issues: list[Issue] = []
    for detail in details:
        if detail["type"] == "too_short" and tuple(detail["loc"]) in inner:
            continue
        issues.extend(_issues(detail, source))
    return issues


def _issues(detail: ErrorDetails, source: str) -> Iterator[Issue]:
    loc: Loc = tuple(detail["loc"])
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldErrors):
        for item in cause.errors:
            yield _field_issue(item, loc, detail["input"], source)
        return
    if isinstance(cause, FieldError):
        yield _field_issue(cause, loc, detail["input"], source)
        return
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        valid = _type_phrase(detail, _field_at(loc[:-1]))
        yield Issue(source, format_loc(loc), f"got key {describe(loc[-1])}; keys {valid}")
        return
    if kind == "missing":
        hint = _hint(_field_at(loc))
        yield Issue(source, format_loc(loc), "missing; required" + (f": {hint}" if hint else ""))
        return
    if kind == "extra_forbidden":
        keys = ", ".join(_keys_at(loc[:-1]))
        yield Issue(source, format_loc(loc), f"unknown key; valid keys here: {keys}")
        return
    valid = _type_phrase(detail, _field_at(loc))
    yield Issue(source, format_loc(loc), f"got {describe(detail['input'])}; {valid}")


def _field_issue(error: FieldError, loc: Loc, given: object, source: str) -> Issue:
    path = format_loc(loc + error.path)
    shown = given if error.given is UNSET else error.given
    if shown is MISSING:
        return Issue(source, path, f"missing; {error.valid}")
    return Issue(source, path, f"got {describe(shown)}; {error.valid}")


# --- what is valid, from the model's own field definitions ----------------------------------

_BOUNDS = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}
_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "list_type": "an array",
    "tuple_type": "an array",
}


def _type_phrase(detail: ErrorDetails, field: FieldInfo | None) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    if kind in _BOUNDS:
        return f"must be {_noun(field)} {_bounds(field) or _bound_text(kind, ctx)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}"
    message = detail["msg"]
    return message[:1].lower() + message[1:]


def _noun(field: FieldInfo | None) -> str:
    return "an integer" if field is not None and field.annotation is int else "a number"


def _bound_text(kind: str, ctx: Mapping[str, Any]) -> str:
    symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[_BOUNDS[kind]]
    return f"{symbol} {ctx.get(_BOUNDS[kind])}"


def _bounds(field: FieldInfo | None) -> str:
    """The field's bounds as text (``> 0 and <= 1``), from its annotated constraints."""
    if field is None:
        return ""
    parts = []
    for item in field.metadata:
        for attr, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(item, attr, None)
            if isinstance(item, annotated_types.BaseMetadata) and value is not None:
                parts.append(
                    f"{symbol} {value:g}" if isinstance(value, float) else f"{symbol} {value}"
                )
    return " and ".join(parts)


def _hint(field: FieldInfo | None) -> str:
    """What a required field takes: its type in words, then its description."""
    if field is None:
        return ""
    annotation = _strip(field.annotation)
    kind = type_help(field.metadata)
    if not kind and get_origin(annotation) is Literal:
        kind = "one of " + ", ".join(str(arg) for arg in get_args(annotation))
    elif not kind and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        kind = "a table"
    elif not kind and annotation in (int, float, str, bool):
        kind = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[
            annotation
        ]
    if kind and field.description:
        return f"{kind}; {field.description}"
    return kind or field.description or ""


def _keys_at(loc: Loc) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _field_at(loc: Loc) -> FieldInfo | None:
    if not loc or not isinstance(loc[-1], str):
        return None
    model = _model_at(loc[:-1])
    return model.model_fields.get(loc[-1]) if model is not None else None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The section model reached by following ``loc`` from the Scenario, if any."""
    current: Any = Scenario
    for part in loc:
        current = _strip(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (tuple, list) and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _strip(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _strip(annotation: Any) -> Any:
    """``X | None`` -> X and ``Annotated[X, ...]`` -> X."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _strip(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _strip(options[0]) if len(options) == 1 else annotation
    return annotation
