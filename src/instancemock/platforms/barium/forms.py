"""Reading Barium's form posts, and turning typed field values into the strings Barium stores.

The validator checks the declared fields, but hands over only those: Barium copies *any* posted
`name=value` into a form, so the handlers read every pair from the raw body here. Multipart
uploads are parsed here too, because the file part's filename names the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, unquote

from instancemock.core.context import Ctx
from instancemock.world.clock import iso

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", errors="replace")


def media_type(c: Ctx) -> str:
    return c.args.content_type.split(";")[0].strip().lower()


def form_pairs(c: Ctx) -> list[tuple[str, str]]:
    """Every `name=value` of a url-encoded body (or the text parts of a multipart one), in order."""
    if media_type(c) == MULTIPART:
        return [(p.name, p.text) for p in multipart_parts(c) if p.filename is None]
    if media_type(c) != FORM or not c.args.raw_body:
        return []
    return parse_qsl(c.args.raw_body.decode("utf-8", errors="replace"), keep_blank_values=True)


def multipart_parts(c: Ctx) -> list[Part]:
    head = f"Content-Type: {c.args.content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + c.args.raw_body)
    if not message.is_multipart():
        return []
    parts: list[Part] = []
    for item in message.iter_parts():
        assert isinstance(item, Message)
        name = item.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = item.get_payload(decode=True)
        parts.append(
            Part(
                name=name,
                value=payload if isinstance(payload, bytes) else b"",
                filename=_filename(item),
                content_type=item.get_content_type() if item.get("content-type") else None,
            )
        )
    return parts


def _filename(part: Message) -> str | None:
    """The part's filename; clients such as aiohttp percent-encode it, browsers send it raw."""
    name = part.get_filename()
    return unquote(name) if name is not None else None


def first(pairs: list[tuple[str, str]], name: str) -> str | None:
    """The first value of a field, its name matched case-insensitively."""
    wanted = name.lower()
    return next((v for k, v in pairs if k.lower() == wanted), None)


TRUE = {"true", "1", "yes", "on", "ja"}
FALSE = {"false", "0", "no", "off", "nej"}


def coerce(field: dict[str, Any], raw: str) -> str | None:
    """The stored text of a value for a field of this type; ValueError says why it does not fit."""
    value = raw.strip()
    if value == "":
        return None
    kind = field["Type"]
    if kind == "number":
        try:
            number = Decimal(value.replace(" ", "").replace("\u00a0", "").replace(",", "."))
        except InvalidOperation as error:
            raise ValueError(f"{field['Name']!r} must be a number, got {raw!r}") from error
        if not number.is_finite() or abs(number.adjusted()) > 30:
            raise ValueError(f"{field['Name']!r} must be a finite number of sensible size, got {raw!r}")
        return format(number.normalize(), "f")
    if kind == "date":
        return _date(field, value)
    if kind == "bool":
        if value.lower() in TRUE:
            return "true"
        if value.lower() in FALSE:
            return "false"
        raise ValueError(f"{field['Name']!r} must be true or false, got {raw!r}")
    if kind == "list" and field.get("Options"):
        for option in field["Options"]:
            if option.lower() == value.lower():
                return str(option)
        raise ValueError(f"{field['Name']!r} must be one of {', '.join(field['Options'])}, got {raw!r}")
    return raw


def _date(field: dict[str, Any], value: str) -> str:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return iso(datetime(day.year, day.month, day.day, tzinfo=UTC))
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"{field['Name']!r} must be an ISO-8601 date, got {value!r}") from error
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
