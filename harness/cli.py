"""``sirekap-loadtest``: one entry point, one subcommand per job.

Each subcommand lives with the part it drives and exposes ``main(argv) -> int``; this module only
dispatches, so importing it stays cheap and a subcommand's heavy imports happen only when used.
Exit codes (reports/verdict.py): 0 every SLO met, 1 an SLO breached, 2 usage or scenario error,
3 harness or infrastructure error, 4 inconclusive.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType, ModuleType

from rundir import exits

# name -> (module exposing main(argv) -> int, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("harness.run", "replay a scenario through its faults; report and SLO exit code"),
    "plan": ("harness.plan", "find the target's knee and size election night (instances)"),
    "report": ("reports.cli", "build the report of a saved run directory"),
    "compare": (
        "reports.compare_cli",
        "compare two saved runs (or plans): improved, unchanged or regressed",
    ),
    "history": ("reports.history_cli", "list a scenario's saved runs and draw their trends"),
    "mock": ("mock_sirekap.cli", "start the mock Sirekap upload server"),
    "toxiproxy": ("faults.toxiproxy.__main__", "start the built-in Toxiproxy-compatible server"),
    "cluster": ("harness.cluster", "run N mock instances behind HAProxy (a staging-like service)"),
    "validate": ("harness.validate", "check a scenario file and print a one-screen summary"),
    "calibrate": ("harness.calibrate", "measure what one load-generator process sustains here"),
    "worker": ("harness.worker", "generate load as a Locust worker of a run on another host"),
    "check": ("harness.check", "check that a target offers what a scenario needs (no load)"),
}


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: sirekap-loadtest COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run 'sirekap-loadtest COMMAND --help' for a command's options."]
    return "\n".join(lines)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (a CI job cancelled) winds down like Ctrl-C: faults cleared, children stopped,
    what was measured kept. Sent as SIGINT, so a wind-down that ignores Ctrl-C ignores it too."""
    os.kill(os.getpid(), signal.SIGINT)


def _forget_unhandled_interrupt() -> None:
    """CPython 3.11 marks a KeyboardInterrupt that escapes ``exec`` of a string as unhandled even
    when a caller catches it, and then ends the process by SIGINT instead of its exit code. Imports
    hit that window (dataclasses build their methods with ``exec``); an ``exec`` of a string that
    completes clears the mark, so the caught interrupt keeps exit code 4."""
    exec("")  # a constant, empty program


def _import_held(module: str) -> ModuleType:
    """Import a command's module with Ctrl-C (and SIGTERM, sent on as SIGINT) held until the import
    ends, then raised. An interrupt that lands inside a library's import machinery comes out as
    that library's error (pydantic's SchemaError, abc's RuntimeError) with a traceback, not as an
    interrupt."""
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        imported = importlib.import_module(module)
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt
    return imported


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if args else exits.USAGE
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        valid = ", ".join(SUBCOMMANDS)
        print(
            f"sirekap-loadtest: unknown command {name!r}; valid commands: {valid}", file=sys.stderr
        )
        return exits.USAGE
    if argv is None:  # the console script, not a caller in this process
        # Ctrl-C winds a run down even when started where SIGINT is ignored (a background job
        # of a non-interactive shell, some CI runners): SIGTERM relies on it too.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _terminate)
    try:
        path = SUBCOMMANDS[name][0]
        module = _import_held(path) if argv is None else importlib.import_module(path)
        entry: Callable[[list[str]], int] = module.main
        return entry(rest)
    except KeyboardInterrupt:  # before the command's own handling (its first moments)
        _forget_unhandled_interrupt()
        print(f"sirekap-loadtest {name}: interrupted (Ctrl-C or SIGTERM)", file=sys.stderr)
        return exits.INCONCLUSIVE
    except Exception as error:  # the one place errors become exit codes
        code = exits.code_of(error)
        if code is None:
            raise
        for line in str(error).splitlines():
            print(f"sirekap-loadtest {name}: {line}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
