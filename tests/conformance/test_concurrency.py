"""Many clients at once: no lost or doubled writes, optimistic concurrency that holds, slow or
silent clients that hold no one else up, bodies over the limit refused without being buffered."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request
from typing import Any

import aiohttp
import pytest
from conformance_support import Server, auth_headers, start_server, stop_server
from rawhttp import exchange, request_bytes

CLIENTS = 32


async def many(count: int, make: Any) -> list[tuple[int, Any]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=count)) as session:
        return await asyncio.gather(*(make(session, i) for i in range(count)))


async def call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


def test_parallel_barium_starts_are_all_kept_with_unique_ids(server: Server) -> None:
    headers = {**auth_headers(server, "barium"), "X-Mock-Sandbox": "parallel-barium"}
    app = "3b0d1c52-7e0a-4c59-9d7b-0f3a61a2c9e1"
    url = server.url(f"/barium/api/v1.1/Apps/{app}")
    before = server.get_json("/barium/api/v1.1/Instances?Max=1", headers)["TotalCount"]
    answers = asyncio.run(many(CLIENTS, lambda s, i: call(s, "POST", url, headers=headers, data={})))
    created = [body["InstanceId"] for status, body in answers if status == 200]
    assert len(created) == CLIENTS, answers
    assert len(set(created)) == CLIENTS
    listed = server.get_json("/barium/api/v1.1/Instances?Max=1000", headers)
    assert listed["TotalCount"] == before + CLIENTS
    assert set(created) <= {i["Id"] for i in listed["Data"]}


def test_parallel_storage_creates_are_all_kept_with_unique_ids(server: Server) -> None:
    headers = {**auth_headers(server, "altinn-storage"), "X-Mock-Sandbox": "parallel-storage"}
    url = server.url("/altinn/storage/api/v1/instances?appId=ttd/soknad-tilskudd")
    query = "/altinn/storage/api/v1/instances?appId=ttd/soknad-tilskudd&size=1000"
    before = server.get_json(query, headers)["count"]
    template = {"instanceOwner": {"partyId": "50001001"}}
    answers = asyncio.run(many(CLIENTS, lambda s, i: call(s, "POST", url, headers=headers, json=template)))
    created = [body["id"] for status, body in answers if status == 201]
    assert len(created) == CLIENTS, answers
    assert len(set(created)) == CLIENTS
    listed = server.get_json(query, headers)
    assert listed["count"] == before + CLIENTS
    assert set(created) <= {i["id"] for i in listed["instances"]}


def kianda_count(server: Server, headers: dict[str, str], process: str) -> int:
    request = urllib.request.Request(
        server.url(f"/kianda/api/instances?processName={process}&pageSize=1"), headers=headers
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.headers["Total-Items"])


def test_parallel_kianda_creates_are_all_kept_with_unique_names(server: Server) -> None:
    headers = {**auth_headers(server, "kianda"), "X-Mock-Sandbox": "parallel-kianda"}
    process = "equipment-request"
    before = kianda_count(server, headers, process)
    url = server.url("/kianda/api/instances/create")
    body = {"processName": process, "instanceID": process, "TriggerField": "", "FieldsMappings": []}
    answers = asyncio.run(many(CLIENTS, lambda s, i: call(s, "POST", url, headers=headers, json=body)))
    created = [b["instanceID"] for status, b in answers if status == 200]
    assert len(created) == CLIENTS, answers
    assert len(set(created)) == CLIENTS
    assert kianda_count(server, headers, process) == before + CLIENTS
    for name in created:
        assert server.get_json(f"/kianda/api/instances/{name}", headers)["id"] == name


def test_32_writers_with_one_version_one_wins_the_rest_conflict(server: Server) -> None:
    headers = {**auth_headers(server, "kianda"), "X-Mock-Sandbox": "versions-kianda"}
    name = "training-approval-request-1"
    url = server.url(f"/kianda/api/instances/{name}")
    version = server.get_json(f"/kianda/api/instances/{name}", headers)["Version"]

    def body(i: int) -> dict[str, Any]:
        text = f"writer {i}"
        return {"Version": version, "FieldsMappings": [{"fieldname": "reason", "text": text, "value": text}]}

    answers = asyncio.run(many(CLIENTS, lambda s, i: call(s, "PUT", url, headers=headers, json=body(i))))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * (CLIENTS - 1), statuses
    winner = next(i for i, (status, _) in enumerate(answers) if status == 200)
    final = server.get_json(f"/kianda/api/instances/{name}", headers)
    assert final["Version"] == answers[winner][1]["Version"] != version
    reason = next(f for f in final["fields"] if f["name"] == "reason")
    assert reason["value"] == reason["text"] == f"writer {winner}"


def test_a_body_over_the_limit_is_refused_before_it_is_sent() -> None:
    """12 MB declared against a 10 MB limit: the 413 arrives while the client has sent no body."""
    own = start_server()
    try:
        headers = {**auth_headers(own, "barium"), "Content-Type": "application/x-www-form-urlencoded"}
        head = request_bytes("POST", "/barium/api/v1.1/Instances/x", headers)
        head = head.replace(b"Content-Length: 0", f"Content-Length: {12 * 1024 * 1024}".encode())
        answer = exchange(own.port, head, timeout=10)
        assert answer.status == 413
        assert json.loads(answer.body)["errorCode"] == 413
        assert own.healthy()
    finally:
        stop_server(own)


def test_a_chunked_body_over_the_limit_is_cut_off_at_the_limit(server: Server) -> None:
    """No length to refuse on: the server reads up to the limit, answers 413 and stops reading."""
    headers = {**auth_headers(server, "barium"), "X-Mock-Sandbox": "limits"}

    async def send() -> tuple[int, Any]:
        async def chunks() -> Any:
            block = b"a" * (1024 * 1024)
            for _ in range(12):
                yield block

        async with aiohttp.ClientSession() as session:
            url = server.url("/barium/api/v1.1/Objects/x/Fields")
            try:
                return await call(session, "POST", url, headers=headers, data=chunks())
            except aiohttp.ClientError as error:  # the server may close before all 12 MB are sent
                return 0, str(error)

    status, body = asyncio.run(send())
    assert status in (413, 0), body
    if status == 413:
        assert body["errorCode"] == 413
    assert server.healthy()


def test_a_slow_and_a_silent_client_do_not_hold_others_up(server: Server) -> None:
    headers = auth_headers(server, "barium")
    trickle = socket.create_connection(("127.0.0.1", server.port))
    silent = socket.create_connection(("127.0.0.1", server.port))
    try:
        trickle.sendall(b"POST /barium/api/v1.1/Authenticate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nA")
        silent.sendall(request_bytes("GET", "/barium/api/v1.1/Instances?Max=1000", headers))  # never read
        started = time.monotonic()
        for _ in range(10):
            assert server.get_json("/__admin/health") is not None
            trickle.sendall(b"P")  # one byte at a time, still far from done
        assert time.monotonic() - started < 5
    finally:
        trickle.close()
        silent.close()


def test_idle_connections_are_closed_after_the_idle_timeout() -> None:
    own = start_server("--idle-timeout", "1")
    try:
        with socket.create_connection(("127.0.0.1", own.port), timeout=10) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""  # closed by the server, having sent nothing
            assert 0.5 < time.monotonic() - started < 5
        with socket.create_connection(("127.0.0.1", own.port), timeout=10) as kept:
            kept.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n")
            first = kept.recv(65536)
            assert first.startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            while kept.recv(65536):
                pass
            assert time.monotonic() - started < 5
    finally:
        stop_server(own)


@pytest.mark.parametrize("seconds", ["0"])
def test_idle_timeout_is_a_setting(seconds: str) -> None:
    from instancemock.__main__ import parser, settings_from

    assert settings_from(parser().parse_args(["serve", "--idle-timeout", seconds])).idle_timeout == int(seconds)
