"""``sirekap-loadtest mock`` / ``python -m mock_sirekap``: start the mock upload server.

It prints one line once it listens: the URL and where its admin token comes from (a token you gave
is never printed; a generated one is). The admin token comes from ``--admin-token-file PATH``, or
``$MOCK_SIREKAP_ADMIN_TOKEN``, or ``--admin-token T`` (visible to every user in ``ps``: prefer the
other two), else a random one is generated and printed.

Exit codes: 0 stopped by Ctrl-C or SIGTERM (a clean shutdown), 2 bad arguments or input files (one
line on stderr naming what is wrong and what is valid), 3 the server could not start (e.g. the port
is taken, or the database cannot be reached: one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

from mock_sirekap import ADMIN_TOKEN_ENV
from mock_sirekap.bodies import DEFAULT_BODY_TIMEOUT
from mock_sirekap.capacity import CapacityError, CapacityModel, load_capacity
from mock_sirekap.config import DEFAULT_MAX_UPLOAD, MockConfig
from mock_sirekap.operators import Operators, write_operators
from mock_sirekap.registry import Registry, RegistryError, write_registry
from mock_sirekap.storage import StorageError, parse_target, shown

PROG = "sirekap-loadtest mock"
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_START = 3
EPILOG = (
    "exit codes: 0 stopped by Ctrl-C or SIGTERM; 2 bad arguments or input files; "
    "3 could not start (e.g. the port is taken)"
)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Mock Sirekap upload server (FastAPI + uvicorn).", epilog=EPILOG
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="listen port (default 8000)")
    parser.add_argument(
        "--db",
        type=parse_target,
        required=True,
        metavar="PATH|URL",
        help="SQLite database file, or a PostgreSQL URL postgresql://user@host:port/dbname "
        "(a password: $PGPASSWORD or ~/.pgpass rather than the URL, which ps shows)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--registry", type=Path, help="registry CSV: tps_code,dpt,device_id,secret")
    source.add_argument("--tps", type=int, help="generate a registry of N TPS (with --seed)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated registry")
    parser.add_argument("--registry-out", type=Path, help="write the generated registry as CSV")
    parser.add_argument(
        "--operators",
        type=Path,
        help="PPK operators CSV: kecamatan_code,operator_id,secret (default: one generated "
        "operator per kecamatan with --tps, none with --registry)",
    )
    parser.add_argument("--operators-out", type=Path, help="write the operators in use as CSV")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--capacity",
        help="capacity model file (TOML or JSON), or 'raw' for no model (default: built-in model)",
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--admin-token-file",
        type=Path,
        metavar="PATH",
        help="read the admin API token from this file (its first line)",
    )
    token.add_argument(
        "--admin-token",
        metavar="T",
        help=f"admin API token; visible to other users in ps: prefer --admin-token-file or "
        f"${ADMIN_TOKEN_ENV} (default: ${ADMIN_TOKEN_ENV}, else a random one, printed)",
    )
    parser.add_argument("--keep-photos", type=Path, help="also write photo bytes to this folder")
    parser.add_argument(
        "--max-upload-mib", type=float, default=DEFAULT_MAX_UPLOAD / 1_048_576, help="photo limit"
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="S",
        help="real seconds a request body may take once the server reads it; "
        f"slower bodies get 408 (default {DEFAULT_BODY_TIMEOUT:g})",
    )
    parser.add_argument(
        "--token-ttl", type=int, default=3600, help="device and operator token lifetime (s)"
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return parser


def admin_token(args: argparse.Namespace) -> tuple[str, str]:
    """The admin token and where it came from, as the start-up line tells it."""
    if args.admin_token is not None:
        if not args.admin_token.strip():
            raise ValueError("--admin-token is empty; give a token or leave the flag out")
        return args.admin_token, "admin token from --admin-token"
    if args.admin_token_file is not None:
        path: Path = args.admin_token_file
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ValueError(f"--admin-token-file {path}: cannot read: {why}") from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise ValueError(f"--admin-token-file {path}: empty; write the token on its first line")
        return token, f"admin token from {path}"
    from_env = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if from_env:
        return from_env, f"admin token from ${ADMIN_TOKEN_ENV}"
    generated = secrets.token_urlsafe(18)
    return generated, f"admin token (generated): {generated}"


def config_from_args(args: argparse.Namespace, token: str) -> MockConfig:
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1; got {args.workers}")
    if args.tps is not None and args.tps < 1:
        raise ValueError(f"--tps must be at least 1; got {args.tps}")
    if args.max_upload_mib <= 0:
        raise ValueError(f"--max-upload-mib must be above 0; got {args.max_upload_mib}")
    if not args.body_timeout > 0:
        raise ValueError(f"--body-timeout must be above 0 seconds; got {args.body_timeout}")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0-65535; got {args.port}")
    capacity = CapacityModel() if args.capacity is None else load_capacity(Path(args.capacity))
    return MockConfig(
        db=args.db,
        admin_token=token,
        registry_file=args.registry,
        tps=args.tps,
        seed=args.seed,
        processes=args.workers,
        capacity=capacity,
        keep_photos=args.keep_photos,
        max_upload_bytes=int(args.max_upload_mib * 1_048_576),
        token_ttl=args.token_ttl,
        operators_file=args.operators,
        body_timeout=args.body_timeout,
    )


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    stop_on_sigterm()
    try:
        return _main(argv, prog)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before the server took over its signals
        return EXIT_OK


def stop_on_sigterm() -> None:
    """Until the server runs, SIGTERM stops start-up as Ctrl-C does (exit 0, no traceback)."""
    with contextlib.suppress(ValueError):  # not the main thread: leave signals to the caller
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def _main(argv: list[str] | None, prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        token, token_note = admin_token(args)
        config = config_from_args(args, token)
        registry = config.load_registry()
        operators = config.load_operators(registry)
    except (ValueError, CapacityError, RegistryError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from mock_sirekap.serve import ListenError, bind  # noqa: PLC0415 - the serving path only

    try:
        sock = bind(args.host, args.port)
    except ListenError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_START
    with sock:
        if args.registry_out is not None:
            write_registry(registry, args.registry_out)
        if args.operators_out is not None:
            write_operators(operators, args.operators_out)
        if config.keep_photos is not None:
            config.keep_photos.mkdir(parents=True, exist_ok=True)
        try:
            return _serve(config, registry, operators, args, sock, f"{prog}: {{}}; {token_note}")
        except StorageError as exc:
            print(f"{prog}: --db {shown(args.db)}: {exc}", file=sys.stderr)
            return EXIT_START


def _serve(
    config: MockConfig,
    registry: Registry,
    operators: Operators,
    args: argparse.Namespace,
    sock: socket.socket,
    announce: str,
) -> int:
    from mock_sirekap.serve import serve_many, serve_one, url_of  # noqa: PLC0415
    from mock_sirekap.state import clear_faults  # noqa: PLC0415

    clear_faults(config)
    options = {"log_level": args.log_level, "access_log": args.access_log}
    url = url_of(sock)
    line = announce.format(f"listening on {url} (API docs at {url}/docs)") + "; stop with Ctrl-C"

    def ready() -> None:
        print(line, flush=True)

    if config.processes == 1:
        from mock_sirekap.app import create_app  # noqa: PLC0415

        app = create_app(config, registry, operators)
        return EXIT_OK if serve_one(app, sock, options, ready) else EXIT_START
    sock.listen(2048)  # connections wait in the backlog while the workers start
    ready()
    serve_many(config, sock, options)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(prog="mock_sirekap"))
