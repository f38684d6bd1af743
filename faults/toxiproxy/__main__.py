"""``python -m faults.toxiproxy`` / ``sirekap-loadtest toxiproxy``: the built-in Toxiproxy server.

Accepts ``toxiproxy-server``'s own flags (``-host``, ``-port``, ``-config``, ``-seed``) as well as
their double-dash forms, so it can stand in for the binary.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from faults.toxiproxy.builtin.api import VERSION
from faults.toxiproxy.builtin.server import serve
from faults.toxiproxy.builtin.state import ApiError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_START_FAILED = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest toxiproxy",
        description="Run the built-in Toxiproxy-compatible server (Toxiproxy 2.12 HTTP API).",
    )
    parser.add_argument("--host", "-host", default="127.0.0.1", help="API host (default 127.0.0.1)")
    parser.add_argument("--port", "-port", type=_port, default=8474, help="API port (default 8474)")
    parser.add_argument(
        "--config", "-config", type=Path, help="JSON file of proxies to create on start"
    )
    parser.add_argument("--seed", "-seed", type=int, help="seed for toxicity draws and jitter")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level on stderr (default info)",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="use the standard asyncio loop")
    parser.add_argument("--version", "-version", action="store_true", help="print the version")
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}; valid: 0-65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}; valid: 0-65535")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    if args.version:
        print(f"toxiproxy-server version {VERSION}")
        return EXIT_OK
    if args.config is not None and not args.config.is_file():
        print(f"toxiproxy: config file {args.config} does not exist", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.seed is not None:
        random.seed(args.seed)
    try:
        _run(serve(args.host, args.port, args.config), uvloop=not args.no_uvloop)
    except OSError as exc:
        print(
            f"toxiproxy: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr
        )
        return EXIT_START_FAILED
    except ApiError as exc:
        print(f"toxiproxy: {exc.message}", file=sys.stderr)
        return EXIT_START_FAILED
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _run(coro: Coroutine[Any, Any, None], *, uvloop: bool) -> None:
    if uvloop:
        try:
            import uvloop as _uvloop  # noqa: PLC0415 - optional speed-up
        except ImportError:
            pass
        else:
            _uvloop.run(coro)
            return
    asyncio.run(coro)


if __name__ == "__main__":
    sys.exit(main())
