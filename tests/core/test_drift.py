"""Drift flags and their grouping, without a network (tests/core/test_proxy.py runs them end to end)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from werkzeug.datastructures import Headers

from instancemock.core import oracle
from instancemock.core.drift import DriftLog, Seen, body_path, markdown, response_flags, undeclared_operation
from instancemock.core.validation import response_problems
from instancemock.world.redact import Redactor

from support import APIS, assert_conforms

JSON = Headers([("Content-Type", "application/json")])
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def seen(path: str = "/barium/api/v1.1/Instances/x", status: int = 200) -> Seen:
    return Seen(1, "GET", path, {"ticket": ["[redacted]"]}, status, "https://live.barium.se/api/v1.1/Instances/x")


def test_array_elements_are_one_place() -> None:
    assert body_path("instances.3.id") == "instances[].id"
    assert body_path("0.fields.12.name") == "[].fields[].name"
    assert body_path("Id") == "Id" and body_path("") == ""


def test_a_wrong_type_is_grouped_by_rule_not_by_value() -> None:
    api = APIS["barium"]
    op = api.operation("getInstance")
    flags = response_flags(api, op, 200, b'{"Id": 5}', JSON, "application/json")
    by_where = {f.where: f for f in flags}
    assert len(flags) == len(by_where)  # each missing field once, though jsonschema names each in every error
    assert by_where["Id"].message == "is not of type 'string'" and by_where["Id"].detail.startswith("5 ")
    assert all(f.direction == "response" and f.kind == "schema" for f in flags)


@pytest.mark.parametrize(
    ("api_name", "op_id", "status", "body", "headers", "expected"),
    [
        ("barium", "getInstance", 200, b'{"Id": 5}', {}, ("schema", "Id")),
        ("barium", "getInstance", 200, b"{", {}, ("body", "")),
        ("barium", "getInstance", 200, b"<a/>", {"Content-Type": "text/xml"}, ("media-type", "")),
        ("kianda", "listInstances", 200, b"[]", {"Total-Items": "many"}, ("header", "Total-Items")),
    ],
)
def test_the_compiled_checks_and_openapi_core_name_the_same_problem(
    api_name: str, op_id: str, status: int, body: bytes, headers: dict[str, str], expected: tuple[str, str]
) -> None:
    """Drift is flagged from the compiled plans; openapi-core (the oracle) must see the same kind and place."""
    api = APIS[api_name]
    op = api.operation(op_id)
    sent = Headers({"Content-Type": "application/json", **headers})
    mimetype = sent["Content-Type"]
    compiled = response_problems(api, op, status, body, sent, mimetype)
    reference = oracle.response_problems(api, op, status, body, sent, mimetype)
    assert expected in {(p.kind, p.where) for p in compiled} & {(p.kind, p.where) for p in reference}
    assert {p.kind for p in compiled} == {p.kind for p in reference}


def test_a_success_only_default_covers_is_an_undeclared_status() -> None:
    api = APIS["barium"]
    op = api.operation("getInstance")
    body = b'{"success": false, "errorCode": 1, "errorMessage": "x"}'
    (flag,) = [f for f in response_flags(api, op, 203, body, JSON, "application/json") if f.kind == "status"]
    assert flag.where == "203" and "only `default`" in flag.message
    assert not [f for f in response_flags(api, op, 503, body, JSON, "application/json") if f.kind == "status"]


def test_a_streamed_body_is_judged_by_status_and_media_type_only() -> None:
    api = APIS["barium"]
    op = api.operation("getInstance")
    flags = response_flags(api, op, 200, b"\x89PNG", Headers([("Content-Type", "image/png")]), "image/png", False)
    assert [f.kind for f in flags] == ["media-type"]


def test_groups_count_and_log_once(caplog: pytest.LogCaptureFixture) -> None:
    log = DriftLog(Redactor(seed=1))
    flag = undeclared_operation("GET", "/Instances/12345/Notes/0b6f0a2e-1111-4c3d-8e9f-0a1b2c3d4e5f")
    assert flag.where == "GET /Instances/{}/Notes/{}"
    assert len(log.add("barium", flag.where, [flag], seen(), NOW)) == 1
    assert log.add("barium", flag.where, [flag], seen(), NOW) == []
    logged = [r.getMessage() for r in caplog.records if r.name == "instancemock.drift"]
    assert len(logged) == 1 and "GET /Instances/{}/Notes/{}" in logged[0]
    report = log.report()
    assert report["exchanges"] == 2 and report["drifting"] == 2
    (group,) = report["groups"]
    assert group["count"] == 2 and group["example"]["query"] == {"ticket": ["[redacted]"]}
    assert log.report("kianda")["groups"] == [] and log.clear() == 1 and log.report()["groups"] == []


def test_examples_carry_no_personal_number() -> None:
    log = DriftLog(Redactor(seed=1))
    flag = undeclared_operation("GET", "/owners/14068839794")
    log.add("altinn-storage", flag.where, [flag], seen("/altinn/owners/14068839794"), NOW)
    assert "14068839794" not in str(log.report())


def test_the_markdown_report_has_a_table_per_api() -> None:
    log = DriftLog(Redactor(seed=1))
    flag = undeclared_operation("POST", "/Things")
    log.add("barium", flag.where, [flag], seen(), NOW)
    text = markdown(log.report())
    assert "## barium" in text and "| POST /Things | request | operation | POST /Things |" in text
    assert markdown({"groups": [], "exchanges": 3}).endswith("No drift: 3 proxied exchange(s) agreed with the specs.\n")


async def test_the_markdown_report_conforms_to_the_admin_spec(client: TestClient) -> None:
    answer = await client.get("/__admin/drift", params={"format": "md"})  # the suite's servers are strict
    assert answer.status == 200 and (await answer.text()).startswith("# instancemock drift report")
    await assert_conforms("admin", answer)
