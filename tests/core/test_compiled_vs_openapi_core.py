"""The compiled plans against openapi-core, the reference they replace (issue 13).

For every operation of all five specs, schemathesis generates requests, valid and invalid, and
hypothesis varies them the way clients do (other casings of names, enum values and JSON keys,
repeated query parameters, other content types); `core/validation.py` (the plans) and
`core/oracle.py` (openapi-core) must accept and reject the same requests with the same
violations, and give handlers the same values. Responses likewise: every declared response's
example and random mutations of it must conform, or not, for both.

A fast validator that disagrees with the reference is a bug, not a trade-off. The default run
keeps to about a minute on two cores; `-m soak` runs many more examples.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from werkzeug.datastructures import Headers

from instancemock.core import oracle, validation
from instancemock.core.context import Args
from instancemock.core.document import resolve_refs
from instancemock.core.spec import Api, Operation

from support import APIS

EXAMPLES = 5  # per operation (either mode): the module stays near a minute on two quiet cores
SOAK_EXAMPLES = 150
RESPONSE_EXAMPLES = 6
# No shrinking (a failure prints the request as it was sent), no example database, no deadline.
SETTINGS = settings(
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)


def _operations() -> Iterator[Any]:
    for api in APIS.values():
        for op in api.operations:
            yield pytest.param(api, op, id=f"{api.name}-{op.id}")


OPERATIONS = list(_operations())
_SCHEMAS: dict[str, Any] = {}


def _schemathesis_operation(api: Api, op: Operation) -> Any:
    if api.name not in _SCHEMAS:
        _SCHEMAS[api.name] = schemathesis.openapi.from_dict(json.loads(api.validation_text))
    return _SCHEMAS[api.name][op.template][op.method]


# --- what a client sends -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return json.dumps(value, default=_text) if isinstance(value, dict | list) else str(value)


def _pairs(values: dict[str, Any] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in (values or {}).items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(name), _text(item)))
    return pairs


def _recase(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def _recase_keys(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict):
        return {(_recase(rng, k) if rng.random() < 0.3 else k): _recase_keys(rng, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_recase_keys(rng, v) for v in value]
    return value


def _multipart(fields: dict[str, Any], boundary: str) -> bytes:
    parts = []
    for name, value in fields.items():
        text = _text(value)
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n')
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")


def _request(case: Any, rng: random.Random) -> dict[str, Any]:
    """One request as the pipeline hands it to the checks, varied the way clients vary it."""
    query = _pairs(case.query)
    if query and rng.random() < 0.3:
        query = [(_recase(rng, k), _recase(rng, v) if rng.random() < 0.5 else v) for k, v in query]
    if query and rng.random() < 0.15:
        query.append(rng.choice(query))  # a repeated name
    headers = _pairs(case.headers)
    cookies = {k: _text(v) for k, v in (case.cookies or {}).items()}
    path = {k: _text(v) for k, v in (case.path_parameters or {}).items()}
    media_type = case.media_type or ""
    body = b""
    if case.body is not None and not isinstance(case.body, schemathesis.core.NotSet):
        value = case.body
        if "json" in media_type:
            if rng.random() < 0.3:
                value = _recase_keys(rng, value)
            body = json.dumps(value, default=_text).encode("utf-8", "surrogatepass")
        elif media_type == "application/x-www-form-urlencoded" and isinstance(value, dict):
            pairs = [(_recase(rng, k) if rng.random() < 0.3 else k, v) for k, v in _pairs(value)]
            body = urlencode(pairs).encode("utf-8", "surrogatepass")
        elif media_type.startswith("multipart/") and isinstance(value, dict):
            body = _multipart(value, "b0undary")
            media_type += "; boundary=b0undary"
        elif isinstance(value, bytes):
            body = value
        else:
            body = _text(value).encode("utf-8", "surrogatepass")
    content_type = media_type
    roll = rng.random()
    if roll < 0.1:
        content_type = rng.choice(["", "text/plain", "application/json;", "application/xml", "*/*"])
    elif roll < 0.2 and content_type:
        content_type += "; charset=utf-8"
    elif roll < 0.25 and content_type:
        content_type = content_type.upper()
    return {
        "path_params": path,
        "query": query,
        "headers": headers,
        "cookies": cookies,
        "body": body,
        "content_type": content_type.lower(),
    }


# --- comparing what the two made of it ---------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal, type for type (1, 1.0 and True differ), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _raw(args: Args) -> Any:
    if "json" in args.content_type:
        try:
            return json.loads(args.raw_body)
        except ValueError:
            return args.raw_body
    return args.raw_body


def assert_same_answer(api: Api, op: Operation, request: dict[str, Any]) -> None:
    compiled_args, compiled = validation.check_request(api, op, **request)
    reference_args, reference = oracle.check_request(api, op, **request)
    where = f"{api.name} {op.id} {request!r}"
    assert compiled == reference, f"{where}\ncompiled: {compiled}\nopenapi-core: {reference}"
    for part in ("path", "query", "header", "cookie", "body"):
        mine, theirs = getattr(compiled_args, part), getattr(reference_args, part)
        assert same(mine, theirs), f"{where}\n{part}: compiled {mine!r}, openapi-core {theirs!r}"
    if not reference and "multipart" not in request["content_type"]:
        assert same(_raw(compiled_args), _raw(reference_args)), f"{where}\nraw body differs"


def assert_remembered_alike(api: Api, op: Operation, request: dict[str, Any]) -> None:
    """`check_bodiless` (what the pipeline calls for a request without a body, remembering its
    answers) answers what `check_request` answers, the first time and from memory, and each
    caller gets `Args` of its own."""
    headers = Headers(request["headers"])
    cookie_header = "; ".join(f"{k}={v}" for k, v in request["cookies"].items()) or None
    query = list(request["query"])
    raw_query = urlencode(query)
    expected_args, expected = validation.check_request(api, op, **request)
    cookies = dict(request["cookies"])
    path, kind = request["path_params"], request["content_type"]
    answers = [
        validation.check_bodiless(api, op, path, raw_query, query, headers, cookie_header, lambda: cookies, kind)
        for _ in range(2)
    ]
    for args, violations in answers:
        assert violations == expected, f"{api.name} {op.id} {request!r}"
        for part in ("path", "query", "header", "cookie"):
            assert same(getattr(args, part), getattr(expected_args, part)), f"{api.name} {op.id} {part}"
    first, second = answers[0][0], answers[1][0]
    assert first.query is not second.query
    for name, value in first.query.items():
        if isinstance(value, list):
            assert value is not second.query[name]  # a handler changing its list changes no one else's


def _check_requests(api: Api, op: Operation, examples: int) -> None:
    operation = _schemathesis_operation(api, op)
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(SETTINGS, max_examples=examples)
    @given(case=strategy, seed=st.integers(0, 2**32))
    def run(case: Any, seed: int) -> None:
        request = _request(case, random.Random(seed))
        assert_same_answer(api, op, request)
        if not request["body"]:
            assert_remembered_alike(api, op, request)

    run()


@pytest.mark.parametrize(("api", "op"), OPERATIONS)
def test_requests_get_the_same_answer(api: Api, op: Operation) -> None:
    _check_requests(api, op, EXAMPLES)


@pytest.mark.soak
@pytest.mark.parametrize(("api", "op"), OPERATIONS)
def test_requests_get_the_same_answer_soak(api: Api, op: Operation) -> None:
    _check_requests(api, op, SOAK_EXAMPLES)


FORM = "application/x-www-form-urlencoded"
GUID = "6f1c2a9e-3b7d-4c52-9a1e-2d8f0b7c4e11"
APP = {"org": "ttd", "app": "a"}
HAND_MADE = [
    # (api, operationId, path params, query, headers, body, content type)
    ("barium", "listInstances", {}, [("status", "ACTIVE"), ("max", "10")], [], b"", ""),
    ("barium", "listInstances", {}, [("Max", "abc"), ("Start", "")], [], b"", ""),
    ("barium", "listInstances", {}, [("Max", "1"), ("max", "2")], [], b"", ""),
    ("barium", "authenticate", {}, [("webTicket", "1")], [], b"apikey=k&USERNAME=u&password=p", FORM),
    ("barium", "authenticate", {}, [], [], b"apikey=k&username=u&password=p&webticket=yes", FORM),
    ("barium", "authenticate", {}, [], [], b"\xff\xfe", FORM),
    ("barium", "updateObjectFields", {"Id": "x"}, [], [], b"a=1&A=2&b=", FORM),
    (
        "kianda",
        "createInstance",
        {},
        [],
        [],
        b'{"ProcessName": "x", "fieldsmappings": [{"NAME": "a"}]}',
        "application/json",
    ),
    ("kianda", "createInstance", {}, [], [], b'{"processName": NaN}', "application/json"),
    ("kianda", "createInstance", {}, [], [], b"[" * 5000 + b"]" * 5000, "application/json"),
    ("kianda", "createInstance", {}, [], [], b'{"processName": "x"}', "application/json; charset"),
    ("kianda", "createInstance", {}, [], [], b'{"processName": "x"}', " application/json"),
    ("kianda", "createInstance", {}, [], [], b"", "application/json"),
    ("kianda", "getInstanceFields", {"name": "a-1"}, [("names", "")], [], b"", ""),
    ("kianda", "getInstanceFields", {"name": "a-1"}, [], [], b"", ""),
    ("kianda", "listInstances", {}, [("page", "٣"), ("pagesize", " 7 ")], [], b"", ""),
    (
        "altinn-storage",
        "queryInstances",
        {},
        [("org", "ttd"), ("size", "10"), ("lastChanged", "gt:2025-01-01")],
        [],
        b"",
        "",
    ),
    ("altinn-storage", "queryInstances", {}, [("process.isComplete", "True"), ("size", "1e3")], [], b"", ""),
    ("altinn-storage", "queryInstances", {}, [("excludeConfirmedBy", "a"), ("excludeconfirmedby", "b")], [], b"", ""),
    ("altinn-storage", "queryInstances", {}, [], [("x-ai-instanceowneridentifier", "person:1")], b"", ""),
    ("altinn-storage", "getInstance", {"instanceOwnerPartyId": "1", "instanceGuid": "not-a-guid"}, [], [], b"", ""),
    ("altinn-storage", "getInstance", {"instanceOwnerPartyId": "x", "instanceGuid": GUID}, [], [], b"", ""),
    (
        "altinn-app",
        "createInstanceSimplified",
        APP,
        [],
        [],
        b'{"instanceOwner": {"partyId": "1"}, "notification": {"requestedSendTime": ""}}',
        "application/json",
    ),
    (
        "altinn-app",
        "createInstanceSimplified",
        APP,
        [],
        [],
        b'{"instanceOwner": {"partyId": "1"}, "prefill": "x"}',
        "application/json",
    ),
    (
        "altinn-app",
        "createInstance",
        APP,
        [],
        [],
        _multipart({"instance": {"instanceOwner": {"partyId": "1"}}}, "zz"),
        "multipart/form-data; boundary=zz",
    ),
    ("admin", "listRequests", {}, [("since", "2026-01-01T00:00:00Z"), ("status", "5xx"), ("limit", "0")], [], b"", ""),
]


@pytest.mark.parametrize("case", HAND_MADE, ids=lambda case: f"{case[0]}-{case[1]}")
def test_hand_made_edges_get_the_same_answer(case: tuple[Any, ...]) -> None:
    """Edges generation rarely hits: .NET booleans, Unicode digits, NaN, deep nesting, odd content types."""
    name, operation_id, path, query, headers, body, content_type = case
    api = APIS[name]
    request = {
        "path_params": path,
        "query": query,
        "headers": headers,
        "cookies": {},
        "body": body,
        "content_type": content_type,
    }
    assert_same_answer(api, api.operation(operation_id), request)


def test_oneof_and_nullable_messages_name_the_branch_that_fits() -> None:
    """Issue 14, item 12: `requestedSendTime: ""` is not a date-time; saying it is not null helps nobody."""
    api = APIS["altinn-app"]
    body = b'{"instanceOwner": {"partyId": "50001001"}, "notification": {"requestedSendTime": ""}}'
    _, violations = validation.check_request(
        api, api.operation("createInstanceSimplified"), {"org": "ttd", "app": "a"}, [], [], {}, body, "application/json"
    )
    assert violations, "the empty date-time was accepted"
    assert all("'null'" not in v.message for v in violations), violations
    assert any(v.field == "notification.requestedSendTime" and "date-time" in v.message for v in violations), violations


# --- bodies read directly (core/schemas.py `direct_reader`) ----------------------------------------


def _direct_media() -> Iterator[Any]:
    for api in APIS.values():
        for op in api.operations:
            body = api.compiled.plans[op.id].body
            for key, media in (body.media if body is not None else {}).items():
                if media.direct is not None:
                    yield pytest.param(api, op, key, id=f"{api.name}-{op.id}")


DIRECT_MEDIA = list(_direct_media())


class _Counted:
    """A media's direct reader, counting the bodies it read (those the general path did not)."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.read = 0

    def __call__(self, value: Any) -> Any:
        found = self.reader(value)
        self.read += 1
        return found


@contextmanager
def _counting(api: Api, op: Operation, key: str) -> Iterator[_Counted]:
    body = api.compiled.plans[op.id].body
    assert body is not None
    media = body.media[key]
    counted = _Counted(media.direct)
    media.direct = counted
    try:
        yield counted
    finally:
        media.direct = counted.reader


def _in_order(value: Any) -> str:
    """The value with its keys in their order, for a comparison `same` (order-blind) cannot make."""
    return json.dumps(value, default=str)


def assert_read_alike(api: Api, op: Operation, request: dict[str, Any]) -> None:
    """`assert_same_answer`, and an accepted body's keys in openapi-core's order too (handlers echo them)."""
    assert_same_answer(api, op, request)
    compiled_args, compiled = validation.check_request(api, op, **request)
    reference_args, _ = oracle.check_request(api, op, **request)
    if not compiled:
        assert _in_order(compiled_args.body) == _in_order(reference_args.body), f"{api.name} {op.id} {request!r}"


def test_the_write_bodies_clients_send_as_declared_have_direct_readers() -> None:
    """Kianda's instance writes (the benchmark's versioned PUT among them) are read directly."""
    direct = {(api.name, op.id) for api, op, _ in (case.values for case in DIRECT_MEDIA)}
    assert {("kianda", "createInstance"), ("kianda", "updateInstance"), ("kianda", "patchInstance")} <= direct


@pytest.mark.parametrize(("api", "op", "key"), DIRECT_MEDIA)
def test_bodies_sent_as_declared_get_the_same_answer(api: Api, op: Operation, key: str) -> None:
    """Valid bodies with every key as the spec spells it: the ones a direct reader takes."""
    operation = _schemathesis_operation(api, op)

    @settings(SETTINGS, max_examples=EXAMPLES * 2)
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE, media_type=key))
    def run(case: Any) -> None:
        request = _request(case, random.Random(0))  # seed 0: no recasing, the media type as declared
        request["content_type"] = key
        assert_read_alike(api, op, request)

    run()


PUT_BODIES = [
    b'{"Version":"2.0","FieldsMappings":[{"fieldname":"employeeName","text":"Ciara","value":"Ciara"}]}',
    b'{"FieldsMappings":[{"value":"v","fieldname":"cost","text":450}],"Version":"2.0","Status":"Completed"}',
    b'{"Version":null,"FieldsMappings":null,"ProcessName":null,"TriggerField":null,"Status":null}',
    b'{"FieldsMappings":[{"fieldname":"a"},{"fieldname":"b","text":true,"value":1.5},{"text":null,"fieldname":"c"}]}',
    b'{"FieldsMappings":[]}',
    b"{}",
]
NOT_DIRECT = [
    b'{"version":"2.0","FieldsMappings":[{"fieldname":"a"}]}',  # renamed: the general path, raw body re-encoded
    b'{"Version":"2.0","FieldsMappings":[{"FieldName":"a","text":"x"}]}',
    b'{"Version":"2.0","Extra":1}',  # an undeclared key, kept
    b'{"FieldsMappings":[{"fieldname":"a","colour":"red"}]}',
    b'{"Version":"2.0","version":"3.0"}',  # both spellings
    b'{"Version":"two"}',  # invalid: the general path words it
    b'{"FieldsMappings":[{"fieldname":""}]}',
    b'{"FieldsMappings":{"fieldname":"a"}}',
    b"[]",
    b'{"Version":"2.0\\n"}',  # valid to jsonschema (`$` before a final newline), not to jsonschema-rs
]


@pytest.mark.parametrize("body", PUT_BODIES + NOT_DIRECT)
def test_a_kianda_put_body_gets_the_same_answer_read_directly_or_not(body: bytes) -> None:
    api = APIS["kianda"]
    op = api.operation("updateInstance")
    request = {
        "path_params": {"name": "training-approval-request-1"},
        "query": [],
        "headers": [],
        "cookies": {},
        "body": body,
        "content_type": "application/json",
    }
    with _counting(api, op, "application/json") as counted:
        assert_read_alike(api, op, request)
    assert (counted.read > 0) == (body in PUT_BODIES), "a body sent as declared is read directly, no other"


# --- responses (--strict) -----------------------------------------------------------------------


def _responses() -> Iterator[Any]:
    for api in APIS.values():
        for op in api.operations:
            for code, response in op.spec.get("responses", {}).items():
                response = resolve_refs(api.spec, response)
                for media_type, media in response.get("content", {}).items():
                    if "json" not in media_type:
                        continue
                    examples = [media["example"]] if "example" in media else []
                    examples += [resolve_refs(api.spec, e).get("value") for e in media.get("examples", {}).values()]
                    for example in examples:
                        yield pytest.param(api, op, code, media_type, example, id=f"{api.name}-{op.id}-{code}")
                        break


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _mutate(value: Any, rng: random.Random, replacement: Any) -> Any:
    """The value with one node replaced, or one key dropped."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        if rng.random() < 0.3:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: _mutate(value[key], rng, replacement)}
    if isinstance(value, list) and value and rng.random() < 0.7:
        index = rng.randrange(len(value))
        return [*value[:index], _mutate(value[index], rng, replacement), *value[index + 1 :]]
    return replacement


@pytest.mark.parametrize(("api", "op", "code", "media_type", "example"), list(_responses()))
def test_responses_conform_or_not_alike(api: Api, op: Operation, code: str, media_type: str, example: Any) -> None:
    status = int(code.replace("XX", "00")) if code != "default" else 599
    headers = Headers([("Content-Type", media_type)])

    def verdicts(body: bytes) -> tuple[bool, bool]:
        compiled = validation.check_response(api, op, status, body, headers, media_type)
        reference = oracle.check_response(api, op, status, body, headers, media_type)
        return not compiled, not reference

    assert verdicts(json.dumps(example).encode()) == (True, True)

    @settings(SETTINGS, max_examples=RESPONSE_EXAMPLES)
    @given(replacement=JSON_VALUES, seed=st.integers(0, 2**32))
    def run(replacement: Any, seed: int) -> None:
        body = json.dumps(_mutate(example, random.Random(seed), replacement)).encode()
        compiled, reference = verdicts(body)
        assert compiled == reference, (
            f"{api.name} {op.id} {code}: {body[:300]!r} compiled {compiled}, openapi-core {reference}"
        )

    run()
