"""The mock's settings, shared by the CLI and every server process (as JSON in the environment)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from mock_sirekap.bodies import DEFAULT_BODY_TIMEOUT
from mock_sirekap.capacity import CapacityModel, parse_capacity
from mock_sirekap.operators import NO_OPERATORS, Operators, generate_operators, load_operators
from mock_sirekap.registry import Registry, generate_registry, load_registry
from mock_sirekap.storage import parse_target

CONFIG_ENV = "MOCK_SIREKAP_CONFIG"
DEFAULT_MAX_UPLOAD = 8 * 1_048_576  # 8 MiB per photo


@dataclass(frozen=True, slots=True)
class MockConfig:
    db: Path | str  # a SQLite file, or a postgresql:// URL
    admin_token: str
    registry_file: Path | None = None
    tps: int | None = None
    seed: int = 0
    processes: int = 1
    capacity: CapacityModel = field(default_factory=CapacityModel)
    keep_photos: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    token_ttl: int = 3600
    operators_file: Path | None = None
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def load_registry(self) -> Registry:
        if self.registry_file is not None:
            return load_registry(self.registry_file)
        return generate_registry(self.tps or 0, self.seed)

    def load_operators(self, registry: Registry) -> Operators:
        """The operators file; else one generated operator per kecamatan of a generated registry;
        else none (a ``--registry`` without ``--operators``)."""
        if self.operators_file is not None:
            return load_operators(self.operators_file, registry)
        if self.registry_file is None:
            return generate_operators(registry, self.seed)
        return NO_OPERATORS

    def to_env(self) -> str:
        return json.dumps(
            {
                "db": str(self.db),
                "admin_token": self.admin_token,
                "registry_file": str(self.registry_file) if self.registry_file else None,
                "tps": self.tps,
                "seed": self.seed,
                "processes": self.processes,
                "capacity": self.capacity.to_json(),
                "keep_photos": str(self.keep_photos) if self.keep_photos else None,
                "max_upload_bytes": self.max_upload_bytes,
                "token_ttl": self.token_ttl,
                "operators_file": str(self.operators_file) if self.operators_file else None,
                "body_timeout": self.body_timeout,
            }
        )

    @classmethod
    def from_env(cls) -> MockConfig:
        data = json.loads(os.environ[CONFIG_ENV])
        return cls(
            db=parse_target(data["db"]),
            admin_token=data["admin_token"],
            registry_file=Path(data["registry_file"]) if data["registry_file"] else None,
            tps=data["tps"],
            seed=data["seed"],
            processes=data["processes"],
            capacity=parse_capacity(data["capacity"], CONFIG_ENV),
            keep_photos=Path(data["keep_photos"]) if data["keep_photos"] else None,
            max_upload_bytes=data["max_upload_bytes"],
            token_ttl=data["token_ttl"],
            operators_file=Path(data["operators_file"]) if data["operators_file"] else None,
            body_timeout=data["body_timeout"],
        )
