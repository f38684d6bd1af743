"""``python -m mock_sirekap`` / ``sirekap-loadtest mock``: start the mock upload server.

Exit codes: 0 clean shutdown, 2 bad arguments or input files (one line on stderr naming what is
wrong and what is valid), 3 the server could not start (e.g. the port is taken).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from mock_sirekap.capacity import CapacityError, CapacityModel, load_capacity
from mock_sirekap.config import CONFIG_ENV, DEFAULT_MAX_UPLOAD, MockConfig
from mock_sirekap.operators import Operators, write_operators
from mock_sirekap.registry import Registry, RegistryError, write_registry

EXIT_USAGE = 2
EXIT_START = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock_sirekap", description="Mock Sirekap upload server (FastAPI + uvicorn)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="listen port (default 8000)")
    parser.add_argument("--db", type=Path, required=True, help="SQLite database file")
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
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("MOCK_SIREKAP_ADMIN_TOKEN"),
        help="admin API token (default: $MOCK_SIREKAP_ADMIN_TOKEN, else a random one, printed)",
    )
    parser.add_argument("--keep-photos", type=Path, help="also write photo bytes to this folder")
    parser.add_argument(
        "--max-upload-mib", type=float, default=DEFAULT_MAX_UPLOAD / 1_048_576, help="photo limit"
    )
    parser.add_argument(
        "--token-ttl", type=int, default=3600, help="device and operator token lifetime (s)"
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return parser


def config_from_args(args: argparse.Namespace) -> MockConfig:
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1; got {args.workers}")
    if args.tps is not None and args.tps < 1:
        raise ValueError(f"--tps must be at least 1; got {args.tps}")
    if args.max_upload_mib <= 0:
        raise ValueError(f"--max-upload-mib must be above 0; got {args.max_upload_mib}")
    capacity = CapacityModel() if args.capacity is None else load_capacity(Path(args.capacity))
    token = args.admin_token or secrets.token_urlsafe(18)
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
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        registry = config.load_registry()
        operators = config.load_operators(registry)
    except (ValueError, CapacityError, RegistryError) as exc:
        print(f"mock_sirekap: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.registry_out is not None:
        write_registry(registry, args.registry_out)
    if args.operators_out is not None:
        write_operators(operators, args.operators_out)
    if config.keep_photos is not None:
        config.keep_photos.mkdir(parents=True, exist_ok=True)
    return _serve(config, registry, operators, args)


def _serve(
    config: MockConfig, registry: Registry, operators: Operators, args: argparse.Namespace
) -> int:
    import uvicorn  # noqa: PLC0415 - only the serving path needs it

    from mock_sirekap.state import clear_faults  # noqa: PLC0415

    clear_faults(config)
    if not args.admin_token:
        print(f"mock_sirekap: admin token: {config.admin_token}", file=sys.stderr)
    common = {"host": args.host, "port": args.port, "log_level": args.log_level}
    common["access_log"] = args.access_log
    if config.processes == 1:
        from mock_sirekap.app import create_app  # noqa: PLC0415

        app = create_app(config, registry, operators)
        server = uvicorn.Server(uvicorn.Config(app, **common))
        server.run()
        return 0 if server.started else EXIT_START
    metrics_dir = tempfile.mkdtemp(prefix="mock-sirekap-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ[CONFIG_ENV] = config.to_env()
    try:
        uvicorn.run(
            "mock_sirekap.app:app_from_env",
            factory=True,
            workers=config.processes,
            **common,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
