"""Fault rules through /__admin/faults and the config file: each field, ordering, repeatability."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from instancemock.__main__ import main
from instancemock.app import create_app
from instancemock.core.faults import FaultRules, RuleError, path_matches

from support import ADMIN, BARIUM, KIANDA, MakeClient, assert_conforms, settings

INSTANCES = "/barium/api/v1.1/Instances"
UNKNOWN = "/barium/api/v1.1/Instances/no-such-id/Nothing"  # 404 from the router: no handler involved
KIANDA_LIST = "/kianda/api/instances"


async def add(client: TestClient, rule: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/__admin/faults", json=rule)
    assert response.status == 201, await response.text()
    await assert_conforms(ADMIN, response)
    return await response.json()


async def statuses(client: TestClient, path: str, n: int, **headers: str) -> list[int]:
    return [(await client.get(path, headers=headers)).status for _ in range(n)]


async def test_fail_twice_then_succeed_is_one_rule(make_client: MakeClient) -> None:
    client = await make_client()
    rule = await add(client, {"api": "barium", "method": "GET", "path": "/Instances/*", "status": 503, "times": 2})
    assert rule["id"] == "rule-1" and rule["remaining"] == 2
    path = f"{INSTANCES}/x/Nothing"
    assert await statuses(client, path, 4) == [503, 503, 404, 404]
    listed = await (await client.get("/__admin/faults")).json()
    assert listed["rules"][0]["fired"] == 2 and listed["rules"][0]["remaining"] == 0


async def test_rule_matches_on_api_method_path_and_sandbox(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"api": "kianda", "method": "post", "path": "/API/Instances/*", "sandbox": "s1", "status": 502})
    target = f"{KIANDA_LIST}/some-name/nothing"
    assert (await client.post(target, headers={"X-Mock-Sandbox": "s1"})).status == 502
    # case-insensitive path glob on the API's own path; any other criterion failing: no fault
    assert (
        await client.post(target.upper().replace("/KIANDA", "/kianda"), headers={"X-Mock-Sandbox": "s1"})
    ).status == 502
    assert (await client.post(target, headers={"X-Mock-Sandbox": "s2"})).status != 502
    assert (await client.post(target)).status != 502  # default sandbox
    assert (await client.get(target, headers={"X-Mock-Sandbox": "s1"})).status != 502  # method
    assert (await client.post("/barium/api/v1.1/api/instances/x", headers={"X-Mock-Sandbox": "s1"})).status != 502


async def test_path_glob_is_on_the_path_after_the_mount_base(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"path": "/Instances", "status": 500})
    assert (await client.get("/barium/api/v1.0/instances")).status == 500  # either Barium base
    assert (await client.get("/barium/api/v1.1/Instances")).status == 500
    assert (await client.get(UNKNOWN)).status == 404  # an exact path names only itself


@pytest.mark.parametrize(
    "glob",
    ["/Instances", "/Instances*", "/Instances/*", "/barium/api/v1.1/Instances", "/barium/*", "/BARIUM/API/V1.1/inst*"],
)
async def test_path_glob_takes_what_a_user_writes(make_client: MakeClient, glob: str) -> None:
    """Issue 15: the README's `/Instances/*` rule never matched `GET /Instances`, nor did the full path."""
    client = await make_client()
    await add(client, {"api": "barium", "method": "GET", "path": glob, "status": 503, "times": 2})
    assert await statuses(client, INSTANCES, 3) == [503, 503, 401]  # the rule fires before auth; then 401


@pytest.mark.parametrize("glob", ["/Tasks*", "/Instance", "/barium/api/v1.0/Instances", "/kianda/*", "/Instances/x"])
async def test_path_glob_names_nothing_else(make_client: MakeClient, glob: str) -> None:
    client = await make_client()
    await add(client, {"path": glob, "status": 503})
    assert (await client.get(INSTANCES)).status == 401


def test_path_matches_api_path_and_full_path() -> None:
    assert path_matches("/instances/*", "/Instances", "/barium/api/v1.1/Instances")
    assert path_matches("/instances/*", "/Instances/abc/Tasks")
    assert path_matches("/barium/api/v1.1/*", "/Instances", "/barium/api/v1.1/Instances")
    assert not path_matches("/barium/api/v1.1/*", "/Instances")  # no full path given: only the API's
    assert not path_matches("/instances/*", "/InstancesX", "/barium/api/v1.1/InstancesX")


async def test_status_with_own_body_and_headers(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"api": "barium", "status": 429, "headers": {"Retry-After": "7", "X-Why": "busy"}})
    response = await client.get(UNKNOWN)
    assert response.status == 429
    assert response.headers["Retry-After"] == "7" and response.headers["X-Why"] == "busy"
    assert (await response.json())["errorCode"] == 429  # the platform's body unless one is given
    await client.delete("/__admin/faults")
    await add(client, {"api": "barium", "status": 503, "body": {"custom": [1, 2]}})
    response = await client.get(UNKNOWN)
    assert response.status == 503 and await response.json() == {"custom": [1, 2]}


async def test_rule_fault_and_delay_are_applied(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"api": "kianda", "fault": "malformed", "delay": {"fixed": 120}})
    started = time.monotonic()
    response = await client.get(KIANDA_LIST)
    assert response.status == 200 and time.monotonic() - started >= 0.12
    with pytest.raises(ValueError):
        await response.json()
    [entry] = (await (await client.get("/__admin/requests", params={"api": "kianda"})).json())["requests"]
    assert entry["fault"] == {
        "source": "rule",
        "rule": "rule-1",
        "status": None,
        "delayMs": 120.0,
        "fault": "malformed",
    }


async def test_random_delays_stay_in_their_bounds(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"api": "barium", "delay": {"uniform": [5, 25]}})
    await add(client, {"api": "kianda", "delay": {"lognormal": {"median": 10, "sigma": 1.5, "max": 30}}})
    for _ in range(8):
        await client.get(UNKNOWN)
        await client.get(f"{KIANDA_LIST}/x/y/z")
    entries = (await (await client.get("/__admin/requests")).json())["requests"]
    barium = [e["fault"]["delayMs"] for e in entries if e["api"] == "barium"]
    kianda = [e["fault"]["delayMs"] for e in entries if e["api"] == "kianda"]
    assert len(barium) == len(kianda) == 8
    assert all(5 <= d <= 25 for d in barium) and len(set(barium)) > 1
    assert all(0 <= d <= 30 for d in kianda) and len(set(kianda)) > 1


async def test_header_wins_over_a_rule(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"api": "barium", "status": 503})
    assert (await client.get(UNKNOWN, headers={"X-Mock-Status": "418"})).status == 418
    assert (await client.get(UNKNOWN)).status == 503


async def test_first_rule_added_wins_and_the_next_takes_over_when_it_is_spent(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"api": "barium", "status": 502, "times": 1})
    await add(client, {"path": "*", "status": 504})
    await add(client, {"api": "barium", "status": 500})
    assert await statuses(client, UNKNOWN, 3) == [502, 504, 504]
    ids = [r["id"] for r in (await (await client.get("/__admin/faults")).json())["rules"]]
    assert ids == ["rule-1", "rule-2", "rule-3"]


async def test_probability_zero_never_fires_and_one_always_does(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"api": "barium", "status": 500, "probability": 0})
    await add(client, {"api": "barium", "status": 503, "probability": 1})
    assert await statuses(client, UNKNOWN, 5) == [503] * 5


async def draws(seed: int, aiohttp_client: Any) -> list[int]:
    client = await aiohttp_client(create_app(settings(seed=seed)))
    await add(client, {"api": "barium", "status": 503, "probability": 0.5})
    return await statuses(client, UNKNOWN, 24)


async def test_probabilistic_rules_repeat_for_a_seed(aiohttp_client: Any) -> None:
    first, again, other = await draws(7, aiohttp_client), await draws(7, aiohttp_client), await draws(8, aiohttp_client)
    assert first == again
    assert set(first) == {404, 503}  # it does draw
    assert first != other


def test_random_delays_repeat_for_a_seed() -> None:
    def sequence(seed: int) -> list[float]:
        rules = FaultRules(seed)
        rule = rules.add({"delay": {"lognormal": {"median": 100, "sigma": 0.8}}, "probability": 0.7})
        out = []
        for _ in range(20):
            picked = rules.pick("barium", "GET", "/Instances", "default")
            out.append(picked.delay.draw(rules.rng) if picked is not None and rule.delay else -1.0)
        return out

    assert sequence(3) == sequence(3) != sequence(4)


BAD_RULES = [
    ({"api": "barium"}, "at least one effect"),
    ({"status": 200}, "status"),
    ({"status": 503, "fault": "reset"}, "either a status or a fault"),
    ({"fault": "explode"}, "fault"),
    ({"api": "sap", "status": 503}, "api"),
    ({"method": "FETCH", "status": 503}, "method"),
    ({"probability": 1.5, "status": 503}, "probability"),
    ({"times": 0, "status": 503}, "times"),
    ({"delay": {"fixed": -1}}, "fixed"),
    ({"delay": {"uniform": [50, 10]}}, "uniform"),
    ({"delay": {"lognormal": {"median": 100}}}, "sigma"),
    ({"delay": {"gamma": 3}}, "delay"),
    ({"body": {"x": 1}, "delay": {"fixed": 1}}, "status"),
    ({"status": 503, "colour": "red"}, "colour"),
]


async def test_a_bad_rule_is_a_400_with_the_reason_and_nothing_is_added(make_client: MakeClient) -> None:
    client = await make_client()
    for rule, reason in BAD_RULES:
        response = await client.post("/__admin/faults", json=rule)
        assert response.status == 400, rule
        assert reason in (await response.json())["error"], rule
        await assert_conforms(ADMIN, response)
    assert (await (await client.get("/__admin/faults")).json()) == {"rules": []}
    not_json = await client.post("/__admin/faults", data=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status == 400


def test_every_bad_rule_is_refused_by_the_parser_too() -> None:
    """The config file's rules skip the admin spec, so the parser alone must refuse them all."""
    for rule, reason in BAD_RULES:
        with pytest.raises(RuleError, match=reason):
            FaultRules(1, ("kianda", "barium", "altinn-storage", "altinn-app")).add(rule)


async def test_rules_are_deleted_one_by_one_or_all_at_once(make_client: MakeClient) -> None:
    client = await make_client()
    await add(client, {"id": "slow", "api": "barium", "delay": {"fixed": 1}})
    await add(client, {"id": "down", "api": "barium", "status": 503})
    duplicate = await client.post("/__admin/faults", json={"id": "down", "status": 500})
    assert duplicate.status == 409
    response = await client.delete("/__admin/faults/down")
    assert response.status == 200 and await response.json() == {"deleted": 1}
    await assert_conforms(ADMIN, response)
    assert (await client.delete("/__admin/faults/down")).status == 404
    assert (await client.get(UNKNOWN)).status == 404
    response = await client.delete("/__admin/faults")
    assert await response.json() == {"deleted": 1}
    listed = await client.get("/__admin/faults")
    await assert_conforms(ADMIN, listed)
    assert (await listed.json())["rules"] == []


async def test_config_file_rules_apply_from_start_up(make_client: MakeClient) -> None:
    client = await make_client(faults=({"api": "kianda", "status": 503, "times": 1}, {"api": "barium", "status": 500}))
    assert (await client.get(f"{KIANDA_LIST}/x/y/z")).status == 503
    assert (await client.get(f"{KIANDA_LIST}/x/y/z")).status == 404
    assert (await client.get(UNKNOWN)).status == 500
    await assert_conforms(BARIUM, await client.get(INSTANCES))
    assert KIANDA


def test_a_bad_config_rule_stops_start_up_naming_its_index() -> None:
    with pytest.raises(ValueError, match=r"faults\[1\]: .*probability"):
        create_app(settings(faults=({"status": 503}, {"status": 503, "probability": 2})))


def test_the_cli_refuses_to_start_with_a_bad_rule(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "instancemock.yaml"
    config.write_text("faults:\n  - api: barium\n    status: 503\n  - fault: sideways\n", encoding="utf-8")
    assert main(["serve", "--config", str(config), "--port", "0"]) == 2
    assert "faults[1]: fault must be one of" in capsys.readouterr().err
