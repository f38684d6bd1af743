"""Raw-socket HTTP helpers: measuring faults on the wire, byte for byte and with timings."""

from __future__ import annotations

import socket
import time


def send_get(sock: socket.socket, path: str, *, close: bool = False) -> None:
    """Send a GET on ``sock``; HTTP/1.0 with ``close`` so the server closes after answering."""
    version = "HTTP/1.0" if close else "HTTP/1.1"
    sock.sendall(f"GET {path} {version}\r\nHost: test\r\n\r\n".encode())


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read one HTTP response with a Content-Length; returns (head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} bytes of the head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {len(body)} of {length} body bytes")
        body += chunk
    return head, body


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything until the peer closes; returns (data, monotonic time of the close)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic()
        data += chunk


def pattern(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))
