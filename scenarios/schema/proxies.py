"""``[[proxies]]``: Toxiproxy proxies on the service's links to its dependencies.

Each names a proxy the service under test already connects through (its database, a cache, an
object store), as Toxiproxy is deployed in practice::

    [[proxies]]
    name = "db"                    # what network faults name: params = { proxy = "db" }
    listen = "127.0.0.1:25432"     # where the service connects (Toxiproxy's side)
    upstream = "127.0.0.1:5432"    # the dependency itself

Network faults without ``proxy`` go on the load path. A dependency's link outlives the run (the
service uses it all the time), so the run finds each proxy in the Toxiproxy ``TOXIPROXY_URL``
names, or creates it there, checks it matches, and at the end removes only the toxics it added.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import Field, field_validator

from scenarios.schema.errors import FieldError
from scenarios.schema.fields import Section

PROXY_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,40}")
RESERVED: Final = frozenset({"load"})  # the load path's own
_ADDRESS = re.compile(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


def _address(value: str) -> str:
    match = _ADDRESS.fullmatch(value)
    if match is None or not 1 <= int(match[2]) <= 65535:
        raise FieldError("must be HOST:PORT with a port from 1 to 65535, like '127.0.0.1:5432'")
    return value


class ProxySpec(Section):
    name: str = Field(description="lower-case letters, digits, '_' or '-', starting with a letter")
    listen: str = Field(description="HOST:PORT the service connects to (Toxiproxy's listen)")
    upstream: str = Field(description="HOST:PORT of the dependency")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not PROXY_NAME.fullmatch(value):
            raise FieldError(
                "must be lower-case letters, digits, '_' or '-', starting with a letter, like 'db'"
            )
        if value in RESERVED:
            raise FieldError(f"{value!r} names the load path; choose another name")
        return value

    @field_validator("listen", "upstream")
    @classmethod
    def _addresses(cls, value: str) -> str:
        return _address(value)
