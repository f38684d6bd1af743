"""Writing and reading the run directory's files: atomic writes, JSON and JSON Lines.

Every file is written to a temporary name beside it, synced and renamed, so a reader (a live
display, a report after a crash) never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` to ``path`` atomically (fsync, then rename over the old file)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    with partial.open("w", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def write_json(path: Path, data: Any, *, indent: int | None = 2, sort_keys: bool = False) -> None:
    """One JSON document, atomically; values JSON cannot hold are written as text."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, default=str)
    write_lines(path, [text + "\n"])


def jsonl_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Compact JSON Lines, one record a line."""
    for record in records:
        yield json.dumps(record, separators=(",", ":")) + "\n"


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    write_lines(path, jsonl_lines(records))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSON Lines file (blank lines skipped); ValueError on a broken line,
    naming the file and line."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as error:
                raise ValueError(f"{path}: line {number}: not JSON ({error})") from None
    return records


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object, or None when the file is missing or not (yet) whole JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
