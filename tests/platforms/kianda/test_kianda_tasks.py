"""Kianda scheduled tasks: CRUD, validation against designs and instances, and the run webhook."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from instancemock.core.context import STATE

from support import KIANDA, NOW, MakeClient, assert_conforms

API = "/kianda/api"

WEEKLY: dict[str, Any] = {
    "name": "Friday digest",
    "schedule": {"type": "Weekly", "weekDay": "Friday", "at": "14:00", "every": 2},
    "processName": "equipment-request",
    "trigger": "Approval form/sendDigest",
}


async def test_create_read_update_delete(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    created = await client.post(f"{API}/tasks", json=WEEKLY)
    assert created.status == 201
    await assert_conforms(KIANDA, created)
    task = await created.json()
    assert created.headers["Location"] == f"/kianda/api/tasks/{task['id']}"
    assert task["status"] == "Active" and task["lastRun"] is None and task["createdBy"] == "admin@acme.ie"
    assert task["nextRun"] == "2026-01-02T14:00:00Z"  # the first Friday after 2026-01-01

    got = await client.get(f"{API}/tasks/{task['id'].upper()}")
    await assert_conforms(KIANDA, got)
    assert await got.json() == task

    paused = await client.put(f"{API}/tasks/{task['id']}", json={**WEEKLY, "status": "Paused"})
    await assert_conforms(KIANDA, paused)
    assert (await paused.json())["nextRun"] is None

    names = [t["name"] for t in await (await client.get(f"{API}/tasks")).json()]
    assert "Friday digest" in names and names == sorted(names, key=str.lower)

    deleted = await client.delete(f"{API}/tasks/{task['id']}")
    assert deleted.status == 200
    await assert_conforms(KIANDA, deleted)
    gone = await client.get(f"{API}/tasks/{task['id']}")
    assert gone.status == 404
    await assert_conforms(KIANDA, gone)


async def test_task_validation(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    cases = [
        ({**WEEKLY, "processName": "nope"}, "processName"),
        ({**WEEKLY, "instanceID": "training-approval-request-1"}, "instanceID"),
        ({**WEEKLY, "schedule": {"type": "Weekly"}}, "schedule"),
        ({**WEEKLY, "schedule": {"type": "Monthly", "dayOfMonth": "First"}}, "schedule.weekDay"),
        ({**WEEKLY, "expire": {"type": "After occurrences"}}, "expire.occurrences"),
        ({**WEEKLY, "status": "Expired"}, "status"),
    ]
    for body, field in cases:
        response = await client.post(f"{API}/tasks", json=body)
        assert response.status == 400, (body, await response.text())
        await assert_conforms(KIANDA, response)
        assert any(key.startswith(f"request.{field}") for key in (await response.json())["ModelState"]), body
    assert len(await (await client.get(f"{API}/tasks")).json()) == 3


async def test_one_time_dates_and_expiry(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    body = {**WEEKLY, "schedule": {"type": "One time", "date": "2026-03-01T10:00:00Z"}}
    task = await (await client.post(f"{API}/tasks", json=body)).json()
    assert task["nextRun"] == "2026-03-01T10:00:00Z"
    limited = {**WEEKLY, "schedule": {"type": "On demand"}, "expire": {"type": "After occurrences", "occurrences": 1}}
    on_demand = await (await client.post(f"{API}/tasks", json=limited)).json()
    assert on_demand["webhookUrl"].endswith(f"/kianda/api/tasks/{on_demand['id']}/run")
    assert (await client.post(f"{API}/tasks/{on_demand['id']}/run")).status == 200
    again = await client.post(f"{API}/tasks/{on_demand['id']}/run")
    assert again.status == 409
    await assert_conforms(KIANDA, again)
    assert (await (await client.get(f"{API}/tasks/{on_demand['id']}")).json())["status"] == "Expired"


async def test_run_creates_or_targets_an_instance(make_client: MakeClient) -> None:
    client = await make_client(auth=False)
    task = await (await client.post(f"{API}/tasks", json=WEEKLY)).json()
    run = await client.post(f"{API}/tasks/{task['id']}/run")
    await assert_conforms(KIANDA, run)
    created = (await run.json())["instanceID"]
    assert created.startswith("equipment-request-")
    assert (await client.get(f"{API}/instances/{created}")).status == 200

    targeted = await client.post(f"{API}/tasks/{task['id']}/run", params={"instanceID": created})
    assert await targeted.json() == {"success": True, "instanceID": created}
    client.app[STATE].clock.advance(60)
    after = await (await client.get(f"{API}/tasks/{task['id']}")).json()
    last_run = datetime.fromisoformat(after["lastRun"].replace("Z", "+00:00"))
    assert NOW <= last_run < NOW + timedelta(seconds=30)  # the clock ticks in real time from --now

    other = await client.post(f"{API}/tasks/{task['id']}/run", params={"instanceID": "training-approval-request-1"})
    assert other.status == 400
    await assert_conforms(KIANDA, other)
    missing = await client.post(f"{API}/tasks/{task['id']}/run", params={"instanceID": "equipment-request-99999"})
    assert missing.status == 404
    await assert_conforms(KIANDA, missing)
    unknown = await client.post(f"{API}/tasks/0e4c2b9a-7f1d-4a3e-8b6c-5d2f9e1a7c48/run")
    assert unknown.status == 404
    not_uuid = await client.get(f"{API}/tasks/not-a-uuid")
    assert not_uuid.status == 400
