"""The App API's process routes as app-lib's ProcessController and ProcessEngine answer them.

ALIB is app-lib-dotnet at 1363997 (ids of the project's research note on issue 17, §3.4-3.5):
ConvertAndAuthorizeActions (ProcessController.cs:501-541), UserAction.cs:26-28 (the string enum
converter), ProcessControllerTests.Get_ShouldReturnProcessTasks, ProcessEngine's 409s and 403s,
ProcessEngineAuthorizer (the default action of each task type).
"""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from test_altinn_app_upstream import app_call

from support import ALTINN_STORAGE, assert_conforms, kari_headers, ttd_headers

BASE = "/altinn"
STORAGE = f"{BASE}/storage/api/v1/instances"


call = app_call


async def created(client: TestClient, headers: dict[str, str], app: str, party: str) -> str:
    body = await call(client, "POST", f"{BASE}/{app}/instances", headers, 201, params={"instanceOwnerPartyId": party})
    return f"{BASE}/{app}/instances/{body['id']}"


async def test_user_actions_are_read_write_and_the_tasks_own_with_their_type_names(client: TestClient) -> None:
    """ConvertAndAuthorizeActions: read and write always, then the BPMN actions; `actions` holds
    each decision; `type` is written as "ProcessAction" (UserAction.cs:26-28; the controller test
    expects `{id: "read", authorized: true, type: "ProcessAction"}` on a data task)."""
    owner = await ttd_headers(client)
    path = await created(client, owner, "ttd/arsrapport", "51001001")
    data_task = await call(client, "GET", f"{path}/process", owner, 200)
    assert data_task["currentTask"]["userActions"] == [
        {"id": "read", "authorized": True, "type": "ProcessAction"},
        {"id": "write", "authorized": True, "type": "ProcessAction"},
    ]
    assert data_task["currentTask"]["actions"] == {"read": True, "write": True}
    csv = {**owner, "Content-Type": "text/csv", "Content-Disposition": "attachment; filename=regnskap.csv"}
    await call(client, "POST", f"{path}/data/regnskap", csv, 200, data=b"konto;belop\n")
    signing = await call(client, "PUT", f"{path}/process/next", owner, 200)
    assert [a["id"] for a in signing["currentTask"]["userActions"]] == ["read", "write", "sign", "reject"]
    assert signing["currentTask"]["actions"] == {"read": True, "write": True, "sign": True, "reject": True}
    assert {a["type"] for a in signing["currentTask"]["userActions"]} == {"ProcessAction"}

    kari = await kari_headers(client)  # Kari acts for Fjordlys Bakeri (51001001)
    as_kari = await call(client, "GET", f"{path}/process", kari, 200)
    assert all(a["authorized"] for a in as_kari["currentTask"]["userActions"])
    ola = await kari_headers(client, userId="20001002", partyId="50001002", pid="01017040320")
    await call(client, "GET", f"{path}/process", ola, 403)  # Ola may not even read it


async def test_reject_goes_back_to_the_data_task_and_only_where_the_task_allows_it(client: TestClient) -> None:
    """ProcessEngine: `reject` skips validation where the BPMN allows it (ProcessEngine.cs:329-333)
    and writes `AbandonCurrentMoveToNext`; a task without it refuses with 403 "Unauthorized"
    (ProcessEngine.cs:251-263), naming the action, or `none` without one."""
    owner = await ttd_headers(client)
    path = await created(client, owner, "ttd/arsrapport", "51001001")
    refused = await call(client, "PUT", f"{path}/process/next", owner, 403, json={"action": "reject"})
    assert refused["title"] == "Unauthorized"
    assert refused["detail"] == (
        "User is not authorized to perform process next. Task ID: Task_1. Task type: data. Action: reject."
    )
    csv = {**owner, "Content-Type": "text/csv", "Content-Disposition": "attachment; filename=regnskap.csv"}
    await call(client, "POST", f"{path}/data/regnskap", csv, 200, data=b"konto;belop\n")
    await call(client, "PUT", f"{path}/process/next", owner, 200)
    back = await call(client, "PUT", f"{path}/process/next", owner, 200, json={"action": "reject"})
    assert back["currentTask"]["elementId"] == "Task_1" and back["currentTask"]["flow"] == 4
    assert back["currentTask"]["flowType"] == "AbandonCurrentMoveToNext"
    instance = await call(client, "GET", path, owner, 200)
    assert not any(e["locked"] for e in instance["data"])  # Task_1's data is writable again
    history = await call(client, "GET", f"{path}/process/history", owner, 200)
    assert [h["eventType"] for h in history["processHistory"]][-2:] == ["process_AbandonTask", "process_StartTask"]


async def test_start_a_process_that_storage_created_without_one(client: TestClient) -> None:
    """ProcessController.StartProcess (:126-170): 200 AppProcessState; started already → 409 with
    the JSON string "Process is already started. Use next." (ProcessEngine.cs:93); an unknown
    start event → 409 "No matching startevent" (ProcessEngine.cs:110); `next` and
    `completeProcess` before it → 409 "Process is not started. Use start!"."""
    owner = await ttd_headers(client)
    response = await client.post(
        STORAGE, params={"appId": "ttd/soknad-tilskudd"}, json={"instanceOwner": {"partyId": "50001001"}}, headers=owner
    )
    assert response.status == 201
    await assert_conforms(ALTINN_STORAGE, response)
    path = f"{BASE}/ttd/soknad-tilskudd/instances/{(await response.json())['id']}"
    not_started = await call(client, "PUT", f"{path}/process/next", owner, 409)
    assert not_started["detail"] == "Process is not started. Use start!" and not_started["validationIssues"] is None
    complete_first = await call(client, "PUT", f"{path}/process/completeProcess", owner, 409)
    assert complete_first["title"] == "Process is not started. Use start!"
    wrong = await call(client, "POST", f"{path}/process/start", owner, 409, params={"startEvent": "StartEvent_9"})
    assert wrong == "No matching startevent"
    started = await call(client, "POST", f"{path}/process/start", owner, 200)
    assert started["currentTask"]["elementId"] == "Task_1" and started["currentTask"]["flow"] == 2
    instance = await call(client, "GET", path, owner, 200)
    assert [e["dataType"] for e in instance["data"]] == ["model"]  # the first task's form is created
    assert await call(client, "POST", f"{path}/process/start", owner, 409) == "Process is already started. Use next."


async def test_complete_process_runs_every_task_to_the_end(client: TestClient) -> None:
    """ProcessController.CompleteProcess (:343-458): `next` with each task type's action
    (ProcessEngine.cs:810-828) until the end; ended → 409 JSON string; a task that fails
    validation → 409 ProblemDetails; a caller who may not act → 403 with no body."""
    kari = await kari_headers(client)
    path = await created(client, kari, "ttd/soknad-tilskudd", "50001001")
    done = await call(client, "PUT", f"{path}/process/completeProcess?language=nb", kari, 200)
    assert done["ended"] and done["currentTask"] is None and done["endEvent"] == "EndEvent_1"
    again = await call(client, "PUT", f"{path}/process/completeProcess", kari, 409)
    assert again == "Process is ended. It cannot be restarted."
    history = await call(client, "GET", f"{path}/process/history", kari, 200)
    assert [h["elementId"] for h in history["processHistory"] if h["eventType"] == "process_EndTask"] == [
        "Task_1",
        "Task_2",
    ]

    owner = await ttd_headers(client)
    blocked_path = await created(client, owner, "ttd/arsrapport", "51001001")
    blocked = await call(client, "PUT", f"{blocked_path}/process/completeProcess", owner, 409)
    assert blocked["title"] == "Validation failed for task"
    assert [i["code"] for i in blocked["validationIssues"]] == ["TooFewDataElementsOfType"]

    brg = await ttd_headers(client, org="brg", org_no="974760673")
    registrering = await created(client, brg, "brg/registrering", "51001001")
    reader = await call(client, "GET", f"{registrering}/process", owner, 200)  # ttd reads brg/registrering
    assert reader["currentTask"]["write"] is False
    assert await call(client, "PUT", f"{registrering}/process/completeProcess", owner, 403) is None
