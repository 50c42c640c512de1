"""kill -9 in a loop under load: with the SQLite store no acknowledged write is lost and no id is reused.

Each round starts the server on the same database, lets clients create Kianda instances (each
with a value of its own) and Altinn instances as fast as they can, kills the server with SIGKILL
at a moment drawn from a fixed seed, then checks the restarted server holds every instance whose
create was answered, with its value. Kianda names instances from a stored counter
(`equipment-request-<n>`); a name answered twice would be an id handed out again.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conformance_support import Server, auth_headers, start_server, stop_server

ROUNDS = 3
CLIENTS = 4
STORAGE_CREATE = "/altinn/storage/api/v1/instances?appId=ttd/soknad-tilskudd"


@dataclass
class Acknowledged:
    kianda: list[tuple[str, str]] = field(default_factory=list)  # (instance name, the value it was created with)
    altinn: list[str] = field(default_factory=list)  # instance ids
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(port: int, worker: int, round_: int, headers: dict[str, dict[str, str]], done: Acknowledged) -> None:
    """Create instances until the server dies; record only what the server answered as created."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sequence = 0
    try:
        while True:
            sequence += 1
            value = f"round {round_} client {worker} create {sequence}"
            if sequence % 3:
                body = {
                    "processName": "equipment-request",
                    "FieldsMappings": [{"fieldname": "justification", "value": value}],
                }
                connection.request("POST", "/kianda/api/instances/create", json.dumps(body), headers["kianda"])
                response = connection.getresponse()
                answer = response.read()
                if response.status == 200:
                    with done.lock:
                        done.kianda.append((json.loads(answer)["instanceID"], value))
            else:
                template = json.dumps({"instanceOwner": {"partyId": "50001001"}})
                connection.request("POST", STORAGE_CREATE, template, headers["altinn"])
                response = connection.getresponse()
                answer = response.read()
                if response.status == 201:
                    with done.lock:
                        done.altinn.append(json.loads(answer)["id"])
    except (OSError, http.client.HTTPException):
        return  # the server was killed
    finally:
        connection.close()


def check_everything_acknowledged_is_there(server: Server, done: Acknowledged) -> None:
    worlds = server.state()["sandboxes"]["default"]
    kianda = worlds["kianda"]["instances"]
    altinn = worlds["altinn"]["instances"]
    for name, value in done.kianda:
        stored = kianda.get(name.lower())
        assert stored is not None, f"{name} was acknowledged and is lost"
        justification = next(f for f in stored["fields"] if f["name"] == "justification")
        assert justification["value"] == value, f"{name} holds another instance's data"
    missing = [i for i in done.altinn if i.split("/", 1)[1] not in altinn]
    assert not missing, f"acknowledged Altinn instances lost: {missing[:5]}"


def test_kill_9_under_load_loses_no_acknowledged_write_and_reuses_no_id(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    draw = random.Random(14)
    done = Acknowledged()
    for round_ in range(ROUNDS):
        server = start_server("--state-file", str(database))
        try:
            check_everything_acknowledged_is_there(server, done)
            json_type = {"Content-Type": "application/json"}
            headers = {
                "kianda": {**auth_headers(server, "kianda"), **json_type},
                "altinn": {**auth_headers(server, "altinn-storage"), **json_type},
            }
            before = len(done.kianda) + len(done.altinn)
            workers = [
                threading.Thread(target=client, args=(server.port, i, round_, headers, done)) for i in range(CLIENTS)
            ]
            for worker in workers:
                worker.start()
            threading.Event().wait(draw.uniform(0.5, 2.0))  # the moment of the kill: under load, at random
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(30)
            for worker in workers:
                worker.join(60)
            assert len(done.kianda) + len(done.altinn) > before, "no write was acknowledged before the kill"
        finally:
            stop_server(server)
    server = start_server("--state-file", str(database))
    try:
        check_everything_acknowledged_is_there(server, done)
    finally:
        stop_server(server)
    reused = [name for name, times in Counter(name.lower() for name, _ in done.kianda).items() if times > 1]
    assert not reused, f"ids handed out twice: {reused}"
