"""Connections are bounded: a body that stops arriving is answered 408 and its connection closed,
and past `max_connections` a new connection is answered 503 at once instead of holding a descriptor."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from conformance_support import Server, kianda_headers, start_server, stop_server
from rawhttp import parse


@pytest.fixture(scope="module")
def bounded() -> Iterator[Server]:
    running = start_server("--idle-timeout", "3", INSTANCEMOCK_BODY_TIMEOUT="2", INSTANCEMOCK_MAX_CONNECTIONS="8")
    try:
        yield running
    finally:
        stop_server(running)


def read_until_closed(sock: socket.socket) -> bytes:
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    return raw


def test_a_stalled_body_is_answered_408_and_closed(bounded: Server) -> None:
    """Before, `Content-Length: 100` and one byte held the connection for good (100 s and counting)."""
    token = kianda_headers(bounded)["Authorization"]
    head = (
        f"POST /kianda/api/instances/create HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", bounded.port), timeout=20) as sock:
        sock.sendall(head.encode())
        raw = read_until_closed(sock)  # the server closes it: recv returns b"" rather than timing out
    waited = time.monotonic() - started
    answer = parse(raw)
    assert answer.status == 408, raw[:300]
    assert isinstance(json.loads(answer.body)["Message"], str)  # Kianda's shape
    assert waited < 15


def test_past_the_connection_cap_a_connection_is_answered_503(bounded: Server) -> None:
    held = [socket.create_connection(("127.0.0.1", bounded.port), timeout=10) for _ in range(8)]
    try:
        for sock in held:  # each is accepted and served (so it counts as open)
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", bounded.port), timeout=10) as extra:
            extra.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = parse(read_until_closed(extra))
        assert answer.status == 503
        assert json.loads(answer.body)["status"] == 503
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while True:  # the held connections are released as the server sees them close
        with socket.create_connection(("127.0.0.1", bounded.port), timeout=10) as again:
            again.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            status = parse(read_until_closed(again)).status
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # the server learns of the closed sockets asynchronously: nothing to await here
    assert status == 200
