"""`--record DIR`: a proxied session kept as a world, served back by a fresh mock.

The upstream is a second instancemock (tests/core/upstream_support.py). A session of reads goes
through a recording proxy; a fresh mock started with `--state-file DIR/state.json` then answers
the same reads the same way, statefully (writes change the recorded documents), with no
credential and no personal number of the session written in clear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from upstream_support import SMALL, proxy_settings

from instancemock.app import create_app
from instancemock.world.recording import STATE_FILE
from instancemock.world.redact import REDACTED, Redactor, is_norwegian_person_number

from support import (
    ALTINN_STORAGE,
    BARIUM,
    KIANDA,
    assert_conforms,
    barium_headers,
    kianda_headers,
    settings,
    ttd_headers,
)

pytestmark = pytest.mark.usefixtures("drifty_package")

EVERY_API = {
    "barium": "/barium/api/v1.1",
    "kianda": "/kianda",
    "altinn-storage": "/altinn",
    "altinn-app": "/altinn",
}
Read = Callable[[TestClient, dict[str, str]], Awaitable[list[tuple[str, Any]]]]


async def record_session(
    aiohttp_client: Any, upstream: TestServer, directory: Path, session: Callable[[TestClient], Awaitable[Any]]
) -> Any:
    """Run `session` through a recording proxy, then stop it (which writes the recording)."""
    proxy = await aiohttp_client(create_app(proxy_settings(upstream, EVERY_API, record=directory)))
    outcome = await session(proxy)
    await proxy.close()
    return outcome


async def replaying(aiohttp_client: Any, directory: Path) -> TestClient:
    """A fresh, strict mock serving the recording (every answer it gives is checked against its spec)."""
    app = create_app(settings(state_file=directory / STATE_FILE, apis=SMALL, state_save_seconds=0))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


def same_origin(value: Any, origin: str) -> Any:
    """Links name the server that answered: compare them without it."""
    return json.loads(json.dumps(value).replace(origin, "ORIGIN"))


async def read_all(client: TestClient, paths: list[str], headers: dict[str, str], api: str) -> list[tuple[str, Any]]:
    answers = []
    for path in paths:
        answer = await client.get(path, headers=headers)
        assert answer.status == 200, (path, await answer.text())
        await assert_conforms(api, answer)
        answers.append((path, same_origin(await answer.json(), str(client.make_url("")).rstrip("/"))))
    return answers


async def test_a_recorded_barium_session_answers_the_same_reads_the_same_way(
    aiohttp_client: Any, upstream: TestServer, tmp_path: Path
) -> None:
    base = EVERY_API["barium"]

    async def session(proxy: TestClient) -> tuple[list[str], list[tuple[str, Any]], str]:
        headers = await barium_headers(proxy)
        listed = await (await proxy.get(f"{base}/Instances", params={"Max": "1000"}, headers=headers)).json()
        ids = [item["Id"] for item in listed["Data"][:4]]
        paths = [f"{base}/Instances?Max=1000", f"{base}/Tasks?Max=1000", f"{base}/Apps"]
        for id_ in ids:
            paths += [f"{base}/Instances/{id_}", f"{base}/Instances/{id_}/Tasks", f"{base}/Instances/{id_}/Objects"]
        return paths, await read_all(proxy, paths, headers, BARIUM), headers["ticket"]

    paths, recorded, ticket = await record_session(aiohttp_client, upstream, tmp_path, session)
    text = (tmp_path / STATE_FILE).read_text(encoding="utf-8")
    assert ticket not in text and json.loads(text)["format"] == "instancemock-state/1"

    replay = await replaying(aiohttp_client, tmp_path)
    headers = await barium_headers(replay)
    assert await read_all(replay, paths, headers, BARIUM) == recorded

    instance = paths[3]  # the replayed world is a world: a delete sticks
    assert (await replay.delete(instance, headers=headers)).status == 200
    assert (await replay.get(instance, headers=headers)).status == 404


async def test_a_recorded_kianda_session_replays_statefully(
    aiohttp_client: Any, upstream: TestServer, tmp_path: Path
) -> None:
    base = EVERY_API["kianda"]

    async def session(proxy: TestClient) -> tuple[list[str], list[tuple[str, Any]], str]:
        headers = await kianda_headers(proxy)
        listed = await (await proxy.get(f"{base}/api/instances", params={"pageSize": "100"}, headers=headers)).json()
        names = [item["id"] for item in listed[:3]]
        processes = sorted({item["processName"] for item in listed[:3]})
        paths = [f"{base}/api/instances?pageSize=100", f"{base}/api/processes", f"{base}/api/tasks"]
        paths += [f"{base}/api/instances/{name}" for name in names]
        paths += [f"{base}/api/processes/{name}" for name in processes]
        return paths, await read_all(proxy, paths, headers, KIANDA), headers["Authorization"]

    paths, recorded, token = await record_session(aiohttp_client, upstream, tmp_path, session)
    assert token.removeprefix("Bearer ") not in (tmp_path / STATE_FILE).read_text(encoding="utf-8")

    replay = await replaying(aiohttp_client, tmp_path)
    headers = await kianda_headers(replay)
    assert await read_all(replay, paths, headers, KIANDA) == recorded

    one = next(path for path in paths if "/api/instances/" in path)
    before = await (await replay.get(one, headers=headers)).json()
    patched = await replay.patch(one, json={"Version": before["Version"]}, headers=headers)
    assert patched.status == 200, await patched.text()
    after = await (await replay.get(one, headers=headers)).json()
    assert after["Version"] != before["Version"]


async def test_a_recorded_altinn_session_keeps_no_personal_number_in_clear(
    aiohttp_client: Any, upstream: TestServer, tmp_path: Path
) -> None:
    storage = "/altinn/storage/api/v1/instances"

    async def session(proxy: TestClient) -> tuple[list[str], list[tuple[str, Any]], str]:
        headers = await ttd_headers(proxy)
        query = f"{storage}?org=ttd&size=100"
        listed = await (await proxy.get(query, headers=headers)).json()
        paths = [query] + [f"{storage}/{item['id']}" for item in listed["instances"][:3]]
        return paths, await read_all(proxy, paths, headers, ALTINN_STORAGE), headers["Authorization"]

    paths, recorded, token = await record_session(aiohttp_client, upstream, tmp_path, session)
    text = (tmp_path / STATE_FILE).read_text(encoding="utf-8")
    assert token.removeprefix("Bearer ") not in text
    numbers = set(re.findall(r'"personNumber": ?"(\d{11})"', json.dumps(recorded)))
    assert numbers, "the session should have shown person numbers"
    assert not any(number in text for number in numbers)
    kept = set(re.findall(r'"personNumber": ?"(\d{11})"', text))
    assert kept and all(is_norwegian_person_number(n) and int(n[2:4]) > 80 for n in kept)  # synthetic stand-ins

    replay = await replaying(aiohttp_client, tmp_path)
    headers = await ttd_headers(replay)
    stand_ins = Redactor(settings().seed)  # the recording's stand-ins: the same for the same seed
    expected = [(path, stand_ins.document(body)) for path, body in recorded]
    assert await read_all(replay, paths, headers, ALTINN_STORAGE) == expected


async def test_personal_numbers_can_be_redacted_instead(
    aiohttp_client: Any, upstream: TestServer, tmp_path: Path
) -> None:
    async def session(proxy: TestClient) -> None:
        headers = await ttd_headers(proxy)
        answer = await proxy.get("/altinn/storage/api/v1/instances?org=ttd&size=20", headers=headers)
        assert answer.status == 200

    app = create_app(proxy_settings(upstream, EVERY_API, record=tmp_path, record_personal="redact"))
    proxy = await aiohttp_client(app)
    await session(proxy)
    await proxy.close()
    text = (tmp_path / STATE_FILE).read_text(encoding="utf-8")
    assert f'"personNumber": "{REDACTED}"' in text.replace('":"', '": "')


async def test_a_second_session_in_the_same_directory_adds_to_the_first(
    aiohttp_client: Any, upstream: TestServer, tmp_path: Path
) -> None:
    base = EVERY_API["kianda"]

    async def first(proxy: TestClient) -> None:
        assert (await proxy.get(f"{base}/api/processes", headers=await kianda_headers(proxy))).status == 200

    async def second(proxy: TestClient) -> None:
        assert (await proxy.get(f"{base}/api/tasks", headers=await kianda_headers(proxy))).status == 200

    await record_session(aiohttp_client, upstream, tmp_path, first)
    await record_session(aiohttp_client, upstream, tmp_path, second)
    kianda = json.loads((tmp_path / STATE_FILE).read_text(encoding="utf-8"))["sandboxes"]["default"]["kianda"]
    assert kianda["processes"] and kianda["tasks"]


def test_a_directory_that_cannot_hold_the_recording_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"state\.json"):
        create_app(settings(proxy={"barium": "http://127.0.0.1:9/barium"}, record=tmp_path))
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="record: "):
        create_app(settings(proxy={"barium": "http://127.0.0.1:9/barium"}, record=tmp_path / "file" / "below"))


async def test_recording_needs_a_proxied_api() -> None:
    with pytest.raises(ValueError, match="--record keeps what the proxy forwards"):
        create_app(settings(record=Path("nowhere")))
