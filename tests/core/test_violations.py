"""Validation messages name the real problem: under oneOf/anyOf, the branch that fits the value's type."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator, FormatChecker

from instancemock.core.violations import _leaves

from support import ALTINN_APP, assert_conforms, kari_headers

NULLABLE_TIME = {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
NULLABLE_OBJECT = {"oneOf": [{"type": "object", "required": ["a"]}, {"type": "null"}]}


def messages(schema: dict[str, Any], value: Any) -> list[str]:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [error.message for error in _leaves(validator.iter_errors(value))]


def test_the_branch_whose_type_fits_speaks() -> None:
    assert messages(NULLABLE_TIME, "") == ["'' is not a 'date-time'"]
    assert messages(NULLABLE_OBJECT, {}) == ["'a' is a required property"]


def test_a_value_no_branch_fits_names_every_type() -> None:
    assert messages(NULLABLE_TIME, 5) == ["5 is not of type 'string', 'null'"]


async def test_an_empty_send_time_on_altinn_create_names_the_field_and_the_format(client: TestClient) -> None:
    body = {"instanceOwner": {"partyId": "50001001"}, "notification": {"requestedSendTime": ""}}
    response = await client.post(
        "/altinn/ttd/soknad-tilskudd/instances/create", json=body, headers=await kari_headers(client)
    )
    assert response.status == 400
    await assert_conforms(ALTINN_APP, response)
    errors = (await response.json())["errors"]
    assert errors == {"notification.requestedSendTime": ["'' is not a 'date-time'"]}
