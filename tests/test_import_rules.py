"""The import direction between the top-level packages: each part imports only what it may.

Run as a script it prints the graph: ``python -m tests.test_import_rules`` (imports counted per
pair of packages, from the source alone).
"""

from __future__ import annotations

import ast
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("mock_sirekap", "faults", "rundir", "scenarios", "locustfiles", "reports", "harness")
# what each package may import of the others (bench/ and tests/ may import anything)
ALLOWED: dict[str, set[str]] = {
    "mock_sirekap": set(),  # stands alone: the system under test
    "faults": set(),  # stands alone: the fault layer
    "rundir": set(),  # the run directory's format: the contract between the parts
    "scenarios": {"rundir"},  # the endpoint names it validates against
    "locustfiles": {"scenarios", "rundir"},
    "reports": {"scenarios", "rundir"},
    "harness": {"scenarios", "faults", "reports", "rundir"},
}
LOCUST = {"locust", "gevent"}  # they monkey-patch the standard library: only in locustfiles/


def imports_of(package: str) -> dict[str, Counter[str]]:
    """For each module of ``package``: top-level names it imports (absolute imports)."""
    found: dict[str, Counter[str]] = {}
    for path in sorted((REPO / package).rglob("*.py")):
        names: Counter[str] = Counter()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names[node.module.split(".")[0]] += 1
        found[str(path.relative_to(REPO))] = names
    return found


def graph() -> dict[str, Counter[str]]:
    edges: dict[str, Counter[str]] = defaultdict(Counter)
    for package in PACKAGES:
        for names in imports_of(package).values():
            for name, count in names.items():
                if name in PACKAGES and name != package:
                    edges[package][name] += count
    return edges


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_the_design_allows(package: str) -> None:
    wrong = {
        module: sorted(name for name in names if name in PACKAGES and name != package)
        for module, names in imports_of(package).items()
    }
    wrong = {m: [n for n in names if n not in ALLOWED[package]] for m, names in wrong.items()}
    assert {m: names for m, names in wrong.items() if names} == {}


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "locustfiles"])
def test_locust_is_imported_only_by_the_locustfiles(package: str) -> None:
    used = {m: sorted(set(n) & LOCUST) for m, n in imports_of(package).items()}
    assert {m: names for m, names in used.items() if names} == {}


if __name__ == "__main__":
    for source, targets in graph().items():
        shown = ", ".join(f"{t} ({n})" for t, n in sorted(targets.items()))
        sys.stdout.write(f"{source} -> {shown}\n")
