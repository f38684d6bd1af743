"""Server-side toxic records and request-body parsing, with Toxiproxy 2.12's rules and messages.

Like the real server, bodies are decoded leniently: unknown fields and unknown attributes are
ignored, a missing ``stream`` means downstream, a missing ``toxicity`` means 1, a missing name
becomes ``<type>_<stream>``. Wrong JSON types are "bad request body" errors (400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

UPSTREAM = 0
DOWNSTREAM = 1

# Attributes of each toxic type with their defaults, in the order Toxiproxy serialises them.
TOXIC_ATTRIBUTES: dict[str, dict[str, int]] = {
    "noop": {},
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
}

_INT64_MAX = 2**63 - 1


class ApiError(Exception):
    """An error answered as ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def to_json(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status}


def bad_body(reason: str) -> ApiError:
    return ApiError(f"bad request body: {reason}", 400)


PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)


def missing_field(what: str) -> ApiError:
    return ApiError(f"missing required field: {what}", 400)


@dataclass(eq=False)
class ToxicState:
    """One toxic of one proxy; links read its attributes live, so updates apply at once."""

    name: str
    type: str
    stream: str
    direction: int
    toxicity: float
    attributes: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": _number(self.toxicity),
        }


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON object at the start of ``body``; trailing bytes are ignored, like the real one."""
    text = body.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise bad_body("EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise bad_body(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, dict):
        raise bad_body(f"expected a JSON object, got {_json_kind(value)}")
    return value


def decode_array(body: bytes) -> list[Any]:
    text = body.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise bad_body("EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise bad_body(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, list):
        raise bad_body(f"expected a JSON array, got {_json_kind(value)}")
    return value


def get_str(data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_body(f"field {key!r} must be a string, got {_json_kind(value)}")
    return value


def get_bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_body(f"field {key!r} must be true or false, got {_json_kind(value)}")
    return value


def get_number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_body(f"field {key!r} must be a number, got {_json_kind(value)}")
    return float(value)


def parse_direction(stream: str) -> int:
    lowered = stream.lower()
    if lowered == "upstream":
        return UPSTREAM
    if lowered == "downstream":
        return DOWNSTREAM
    raise INVALID_STREAM


def new_toxic(data: dict[str, Any]) -> ToxicState:
    """A toxic from a create body, checked in the order the real server checks it.

    The attributes are not applied yet: a name clash (409) is reported before attribute errors.
    """
    name = get_str(data, "name", "")
    type_ = get_str(data, "type", "")
    stream = get_str(data, "stream", "downstream")
    toxicity = get_number(data, "toxicity", 1.0)
    direction = parse_direction(stream)
    if not name:
        name = f"{type_}_{stream}"
    if type_ not in TOXIC_ATTRIBUTES:
        raise INVALID_TOXIC_TYPE
    attributes = dict(TOXIC_ATTRIBUTES[type_])
    return ToxicState(name, type_, stream, direction, toxicity, attributes)


def merged_attributes(toxic: ToxicState, data: dict[str, Any]) -> dict[str, int]:
    """``toxic``'s attributes overlaid with the known ones in ``data["attributes"]``."""
    given = data.get("attributes")
    result = dict(toxic.attributes)
    if given is None:
        return result
    if not isinstance(given, dict):
        raise bad_body(f"field 'attributes' must be an object, got {_json_kind(given)}")
    for key, value in given.items():
        if key not in result:
            continue  # the real server ignores attributes it does not know
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > _INT64_MAX:
            raise bad_body(
                f"attribute {key!r} of a {toxic.type} toxic must be an integer, "
                f"got {json.dumps(value)}"
            )
        result[key] = value
    return result


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
