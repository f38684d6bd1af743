"""The system under test: the embedded mock (a child process) or a remote service."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import httpx

from harness.children import Child, Children, StartError, wait_until
from rundir.exits import UsageError

READY_TIMEOUT_S = 60.0
# The mock's documented variable for its admin token (`sirekap-loadtest mock --help`): the harness
# hands the token over in the environment, never on a command line that `ps` shows.
MOCK_ADMIN_TOKEN_VARIABLE = "MOCK_SIREKAP_ADMIN_TOKEN"


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).is_success
    except httpx.HTTPError:
        return False


class MockTarget:
    """The mock as the harness runs it; also the process handle of the process fault layer."""

    def __init__(
        self,
        children: Children,
        *,
        port: int,
        db: Path | str,
        registry: Path,
        capacity: Path,
        logs: Path,
        workers: int = 1,
        operators: Path | None = None,
        admin_token: str | None = None,
        name: str = "mock",
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.admin_token = admin_token or secrets.token_urlsafe(18)
        args = [
            sys.executable, "-m", "mock_sirekap", "--host", "127.0.0.1", "--port", str(port),
            "--db", str(db), "--registry", str(registry), "--capacity", str(capacity),
            "--workers", str(workers),
        ]  # fmt: skip
        if operators is not None:  # the PPK operators of the plenary
            args += ["--operators", str(operators)]
        # The token goes in the environment: a command line is visible to every user in ps.
        env = {**os.environ, MOCK_ADMIN_TOKEN_VARIABLE: self.admin_token}
        self.child = children.add(Child(name, args, logs / f"{name}.log", env=env))
        self.starts = 0

    def start(self) -> None:
        self.child.start()
        self.starts += 1
        wait_until(
            lambda: answers(f"{self.url}/readyz"), self.child, READY_TIMEOUT_S, "it answered"
        )

    # -- the process handle of faults.process_layer --
    @property
    def pid(self) -> int | None:
        return self.child.pid

    @property
    def alive(self) -> bool:
        return self.child.alive

    def kill(self, sig: int) -> None:
        self.child.signal(sig)

    def restart(self) -> None:
        if self.child.alive:
            raise StartError("the mock is still running; kill it before restarting it")
        self.start()

    def stop(self) -> None:
        self.child.stop()


def check_remote(url: str) -> None:
    """A remote target must answer its health check before any load is sent."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/healthz", timeout=5.0)
    except httpx.HTTPError as exc:
        raise StartError(f"target {url} does not answer: {exc}") from None
    if not response.is_success:
        raise StartError(f"target {url}/healthz answered HTTP {response.status_code}")


def check_admin_token(url: str, token: str) -> None:
    """The target takes the admin token (UsageError if it refuses it); a target that does not
    answer is left to the run's own check (exit 3)."""
    try:
        reply = httpx.get(
            f"{url.rstrip('/')}/admin/faults",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5.0,
        )
    except httpx.HTTPError:
        return
    if reply.status_code in {401, 403}:
        raise UsageError(
            f"the target {url} refused the admin token (HTTP {reply.status_code}); give the one "
            "it was started with (--admin-token-file FILE or $SIREKAP_ADMIN_TOKEN)"
        )


def export_target(url: str, admin_token: str, out: Path, timeout: float = 120.0) -> int:
    """Save the target's export (every stored result and page) as NDJSON; the number of lines.

    Written to a ``.part`` file and renamed once complete: a broken export leaves no file that
    the audit would read as the whole truth.
    """
    lines = 0
    headers = {"Authorization": f"Bearer {admin_token}"}
    partial = out.with_name(out.name + ".part")
    try:
        with (
            httpx.stream("GET", f"{url}/admin/export", headers=headers, timeout=timeout) as reply,
            partial.open("wb") as handle,
        ):
            if not reply.is_success:
                reply.read()
                raise StartError(f"export from {url} failed: HTTP {reply.status_code} {reply.text}")
            for chunk in reply.iter_bytes():
                lines += chunk.count(b"\n")
                handle.write(chunk)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return lines
