"""The login's bare ticket and Barium's global query strings (`format`, `jsonp`, `jsontext`).

Sources, cited in prose because the repository cannot hold them: help.bariumlive.com article
4000131423 (Authenticate: "Set the querystring parameter format=json to get a JSON-formatted
response"; "If requesting a WebTicket, the return format will always be in the JSON format"),
article 4000131430 and support.inrule.com 13261372892557 (global query strings `Format: JSON,
XML`, `JSONP: {Method}`, `JSONText: True` — "Returns JSON with the content-type text/JSON"), and
the clients: barium-feeder barium-feeder.js:11-22 at commit 2ef5dc0 (posts `format=json` in the
form body, then `callback(data.toString())`), Barium.psm1:46-63 at commit 437ae34 (uses the
answer as the ticket), InRule BariumLiveHelper.cs:254-265 at commit a033914 (form field
`webticket`, reads a JSON object). openapi/barium.yaml (info, `POST /Authenticate`) records the
decisions.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import orjson
import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from test_barium_story import BASE, LOGIN, PURCHASE_ORDER

from support import APIS, BARIUM, MakeClient, assert_conforms

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
FORMATS = ("text/json", "application/xml", "application/javascript")


async def login(client: TestClient, path: str = "/Authenticate", **form: str) -> Any:
    response = await client.post(f"{BASE}{path}", data={**LOGIN, **form})
    assert response.status == 200, await response.text()
    await assert_conforms(BARIUM, response)
    return response


def from_xml(element: ElementTree.Element) -> Any:
    """An independent reader of the documented layout: children as fields, `Item`s as arrays."""
    if element.get(XSI_NIL) == "true":
        return None
    children = list(element)
    if not children:
        return element.text or ""
    if all(child.tag == "Item" for child in children):
        return [from_xml(child) for child in children]
    return {child.get("Name", child.tag): from_xml(child) for child in children}


def as_text(value: Any) -> Any:
    """JSON as XML can carry it: scalars as text, empty containers as empty text."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()} or ""
    if isinstance(value, list):
        return [as_text(v) for v in value] or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def without_log_ids(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: without_log_ids(v) for k, v in body.items() if k not in ("errorLogId", "ErrorId")}
    return body


async def test_the_login_answers_the_bare_ticket_unless_json_is_asked_for(make_client: MakeClient) -> None:
    client = await make_client()

    plain = await login(client)  # Barium.psm1's call: no format, no webTicket
    assert plain.content_type == "text/plain"
    ticket = await plain.text()
    assert str(uuid.UUID(ticket)) == ticket
    assert (await client.get(f"{BASE}/Apps", headers={"ticket": ticket})).status == 200

    feeder = await login(client, format="json")  # barium-feeder: format=json in the body only
    assert feeder.content_type == "text/plain" and await feeder.text() == ticket  # the 15-second cache

    asked = await client.post(f"{BASE}/authenticate?Format=JSON", data=LOGIN)
    assert asked.content_type == "application/json"
    assert await asked.json() == {"success": True, "Ticket": ticket}
    await assert_conforms(BARIUM, asked)

    inrule = await login(client, webticket="true")  # lower-case form field, as InRule sends it
    body = await inrule.json()
    assert set(body) == {"success", "Ticket", "WebTicket"} and body["success"] is True

    sso = await client.post(
        f"{BASE}/SSOAuthenticate",
        data={"apikey": LOGIN["apikey"], "uid": "S-1-5-21-3623811015-3361044348-30300820-1013"},
    )
    assert sso.content_type == "text/plain" and uuid.UUID(await sso.text())
    await assert_conforms(BARIUM, sso)


async def test_the_login_in_xml_and_as_jsonp(make_client: MakeClient) -> None:
    client = await make_client()
    xml = await login(client, "/Authenticate?format=xml")
    assert xml.content_type == "application/xml"
    root = ElementTree.fromstring(await xml.read())
    assert root.tag == "Response" and root.findtext("success") == "true"
    ticket = root.findtext("Ticket")
    assert ticket is not None and uuid.UUID(ticket)

    wrapped = await login(client, "/Authenticate?jsonp=handle")
    assert wrapped.content_type == "application/javascript"
    assert await wrapped.text() == f'handle("{ticket}");'  # the JSON string of the bare ticket

    text = await login(client, "/Authenticate?jsontext=true")  # jsontext relabels JSON; the ticket is text
    assert text.content_type == "text/plain" and await text.text() == ticket


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/Instances", {"Status": "active", "Max": "3"}, 200),
        (f"/Apps/{PURCHASE_ORDER}", {}, 200),
        ("/Instances/00000000-0000-4000-8000-000000000000", {}, 404),
        ("/Instances", {"Status": "running"}, 400),
    ],
)
async def test_format_xml_writes_the_same_answer_as_xml(
    make_client: MakeClient, path: str, params: dict[str, str], status: int
) -> None:
    client = await make_client()
    header = {"ticket": await (await login(client)).text()}
    as_json = await client.get(f"{BASE}{path}", params=params, headers=header)
    as_xml = await client.get(f"{BASE}{path}", params={**params, "format": "Xml"}, headers=header)
    assert as_json.status == as_xml.status == status
    assert as_xml.content_type == "application/xml" and as_xml.charset == "utf-8"
    await assert_conforms(BARIUM, as_xml)
    expected = as_text(without_log_ids(await as_json.json()))
    assert as_text(without_log_ids(from_xml(ElementTree.fromstring(await as_xml.read())))) == expected


async def test_errors_follow_the_chosen_format(make_client: MakeClient) -> None:
    client = await make_client()
    unauthorised = await client.get(f"{BASE}/Tasks", params={"format": "xml"})
    assert unauthorised.status == 401 and unauthorised.content_type == "application/xml"
    assert ElementTree.fromstring(await unauthorised.read()).findtext("errorCode") == "401"
    await assert_conforms(BARIUM, unauthorised)

    bad_login = await client.post(f"{BASE}/Authenticate?jsonp=cb", data={**LOGIN, "password": "fel"})
    assert bad_login.status == 401 and bad_login.content_type == "application/javascript"
    script = await bad_login.text()
    assert script.startswith("cb(") and script.endswith(");")
    assert orjson.loads(script[3:-2])["errorMessage"] == "Invalid API key, user name or password."
    await assert_conforms(BARIUM, bad_login)


async def test_xml_stays_well_formed_when_an_answer_echoes_control_characters(make_client: MakeClient) -> None:
    """schemathesis: field names such as `\\x11` came back in `ignoredFields` as XML no parser reads."""
    client = await make_client()
    header = {"ticket": await (await login(client)).text()}
    started = await client.post(f"{BASE}/Apps/{PURCHASE_ORDER}", headers=header)
    instance = (await started.json())["InstanceId"]
    form_id = (await (await client.get(f"{BASE}/Instances/{instance}/Objects", headers=header)).json())["Data"][0]["Id"]
    response = await client.post(
        f"{BASE}/Objects/{form_id}/Fields?format=xml&jsonp=cb",
        data=urlencode({"\x11": "1", "ok\u2028": "2", "supplier": "Åre\x00 AB"}),
        headers={**header, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200 and response.content_type == "application/xml"
    await assert_conforms(BARIUM, response)
    root = ElementTree.fromstring(await response.read())
    ignored = root.find("ignoredFields")
    assert ignored is not None and [item.text for item in ignored] == ["\ufffd", "ok\u2028"]
    wrapped = await client.post(
        f"{BASE}/Objects/{form_id}/Fields?jsonp=cb",
        data=urlencode({"ok\u2029": "2"}),
        headers={**header, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "\\u2029" in await wrapped.text() and "\u2029" not in await wrapped.text()  # a valid script for old engines


async def test_jsonp_wraps_and_jsontext_relabels_the_json(make_client: MakeClient) -> None:
    client = await make_client()
    header = {"ticket": await (await login(client)).text()}
    plain = await client.get(f"{BASE}/Apps", headers=header)
    expected = await plain.read()

    wrapped = await client.get(f"{BASE}/Apps", params={"JSONP": "App.show_apps"}, headers=header)
    assert wrapped.content_type == "application/javascript"
    assert await wrapped.read() == b"App.show_apps(" + expected + b");"
    await assert_conforms(BARIUM, wrapped)

    text = await client.get(f"{BASE}/Apps", params={"jsonText": "True"}, headers=header)
    assert text.content_type == "text/json" and await text.read() == expected
    await assert_conforms(BARIUM, text)

    both = await client.get(f"{BASE}/Apps", params={"jsonp": "f", "jsontext": "true", "format": "xml"}, headers=header)
    assert both.content_type == "application/xml"  # format=xml wins, then jsonp, then jsontext
    either = await client.get(f"{BASE}/Apps", params={"jsonp": "f", "jsontext": "true"}, headers=header)
    assert either.content_type == "application/javascript"


@pytest.mark.parametrize("params", [{"jsonp": "alert(1)//"}, {"format": "yaml"}, {"jsontext": "yes"}])
async def test_a_bad_global_query_string_is_a_400_in_json(make_client: MakeClient, params: dict[str, str]) -> None:
    client = await make_client()
    header = {"ticket": await (await login(client)).text()}
    response = await client.get(f"{BASE}/Apps", params=params, headers=header)
    assert response.status == 400 and response.content_type == "application/json"
    assert (await response.json())["errorData"]["Violations"][0]["field"] == next(iter(params)).lower()
    await assert_conforms(BARIUM, response)


async def test_binary_answers_are_never_rewritten(make_client: MakeClient) -> None:
    client = await make_client()
    header = {"ticket": await (await login(client)).text()}
    instance = (await (await client.get(f"{BASE}/Instances", params={"Max": "1"}, headers=header)).json())["Data"][0]
    image = await client.get(f"{BASE}/Instances/{instance['Id']}/Image", params={"format": "xml"}, headers=header)
    assert image.status == 200 and image.content_type == "image/png"
    assert (await image.read()).startswith(b"\x89PNG")


def test_the_served_spec_declares_every_representation() -> None:
    """Every operation takes the three query strings; every JSON answer is declared four ways."""
    spec = APIS[BARIUM].spec
    validate(spec)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            refs = {p.get("$ref", "").rsplit("/", 1)[-1] for p in operation.get("parameters", [])}
            assert {"Format", "JsonP", "JsonText"} <= refs, f"{method} {path}"
            for code, response in operation["responses"].items():
                content = (
                    spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                    if "$ref" in response
                    else response
                )
                if "application/json" in content.get("content", {}):
                    assert set(FORMATS) <= set(content["content"]), f"{method} {path} {code}"
    registry = Registry().with_resource("urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012))
    checked = 0
    for name, response in spec["components"]["responses"].items():
        for media_type, media in response.get("content", {}).items():
            pointer = f"urn:spec#/components/responses/{name}/content/{media_type.replace('/', '~1')}/schema"
            examples = (
                [media["example"]] if "example" in media else [e["value"] for e in media.get("examples", {}).values()]
            )
            for example in examples:
                if media_type == "application/xml":
                    ElementTree.fromstring(example)  # well-formed
                else:
                    assert not list(Draft202012Validator({"$ref": pointer}, registry=registry).iter_errors(example))
                checked += 1
    assert checked > 20
