"""The namespace network helper: hosts reach each other only over their links, and vanish after."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import netns

PORT = 8000  # each namespace has its own ports: nothing else listens there
SERVE = """
import socket, sys
host = sys.argv[1]
with socket.create_server((sys.argv[2], int(sys.argv[3]))) as server:
    print("ready", flush=True)
    server.settimeout(8)
    conn, _ = server.accept()
    with conn:
        conn.sendall(f"hello from {host}".encode())
"""
CONNECT = """
import errno, socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as conn:
        print(conn.recv(100).decode())
except OSError as exc:
    print(errno.errorcode.get(exc.errno or 0, repr(exc)))
"""


@pytest.fixture
def namespaces_work() -> None:
    """Skips the test, with the reason, where namespaces cannot be made."""
    reason = netns.available()
    if reason is not None:
        pytest.skip(reason)


def serve(net: netns.Network, host: str, address: str) -> subprocess.Popen[str]:
    """A one-connection TCP server inside ``host`` on ``address``, already listening."""
    argv = [sys.executable, "-c", SERVE, host, address, str(PORT)]
    proc = subprocess.Popen(
        net.command(host, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the server exits (closing stdout) if it cannot listen
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate(timeout=5)
        pytest.fail(f"server in {host} on {address} did not start: {err}")
    return proc


def connect(net: netns.Network, host: str, address: str) -> str:
    """What a TCP client inside ``host`` gets from ``address``: the reply or an errno name."""
    argv = [sys.executable, "-c", CONNECT, address, str(PORT)]
    done = net.run(host, argv, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return str(done.stdout).strip()


def reap(procs: list[subprocess.Popen[str]]) -> list[int]:
    codes = []
    for proc in procs:
        proc.communicate(timeout=5)
        codes.append(proc.returncode)
    return codes


@pytest.mark.usefixtures("namespaces_work")
def test_hosts_reach_each_other_only_over_their_links() -> None:
    servers: list[subprocess.Popen[str]] = []
    with netns.hosts(["a", "b", "c"], [("a", "b"), ("a", "c")]) as net:
        made = list(net.namespaces.values())
        assert set(made) <= set(netns.ours())
        a_for_b, a_for_c, c_for_a = (
            net.address("a", "b"),
            net.address("a", "c"),
            net.address("c", "a"),
        )
        assert len({a_for_b, a_for_c, net.address("b", "a"), c_for_a}) == 4
        assert all(address.startswith("10.213.") for address in net.addresses.values())

        servers.append(serve(net, "a", a_for_b))
        servers.append(serve(net, "a", a_for_c))
        servers.append(serve(net, "c", c_for_a))
        assert connect(net, "b", a_for_b) == "hello from a"
        assert connect(net, "c", a_for_c) == "hello from a"
        assert connect(net, "b", c_for_a) == "ENETUNREACH"  # b has a route only to its own link

        root = subprocess.run(
            ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True
        ).stdout
        assert not [a for a in net.addresses.values() if f"inet {a}/" in root]
    assert reap(servers) == [0, 0, -9]  # c's server, never reached, was killed by the teardown
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not [name for name in made if name in listed.stdout.split()]


@pytest.mark.usefixtures("namespaces_work")
def test_teardown_runs_when_the_body_raises() -> None:
    made: list[str] = []
    with pytest.raises(RuntimeError, match="boom"), netns.hosts(["x"], []) as net:
        made.append(net.namespace("x"))
        raise RuntimeError("boom")
    assert made
    assert made[0] not in netns.ours()


@pytest.mark.usefixtures("namespaces_work")
def test_stale_namespaces_of_dead_processes_are_removed() -> None:
    with subprocess.Popen(["true"]) as gone:
        pass
    stale = f"{netns.PREFIX}{gone.pid}n0-old"
    subprocess.run(["ip", "netns", "add", stale], check=True, timeout=10)
    try:
        with netns.hosts(["y"], []):
            assert stale not in netns.ours()
    finally:
        subprocess.run(["ip", "netns", "delete", stale], capture_output=True, check=False)


@pytest.mark.parametrize(
    ("names", "links", "message"),
    [
        (["a", "a"], [], "repeat"),
        (["a", "b"], [("a", "z")], "unknown host"),
        (["a"], [("a", "a")], "itself"),
        (["a", "b"], [("a", "b"), ("b", "a")], "twice"),
        (["a/b"], [], "must be"),
    ],
)
def test_bad_topologies_are_refused_before_anything_is_made(
    names: list[str], links: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message), netns.hosts(names, links):
        pass


@pytest.mark.usefixtures("namespaces_work")
def test_unknown_hosts_and_unlinked_pairs_are_named() -> None:
    with netns.hosts(["a", "b", "c"], [("a", "b")]) as net:
        with pytest.raises(KeyError, match="no host"):
            net.namespace("d")
        with pytest.raises(KeyError, match="share no link"):
            net.address("b", "c")
        assert net.command("a", ["true"]) == ["ip", "netns", "exec", net.namespace("a"), "true"]
        assert net.run("a", ["true"]).returncode == 0
