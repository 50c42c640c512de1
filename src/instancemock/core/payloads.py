"""Request and response bodies as the journal keeps them and as stubs and `verify` match them.

One reading for both, so a criterion that matches a live request also matches its journal entry:
JSON is parsed, a form (`application/x-www-form-urlencoded`) becomes `{name: value}` (a list where
a name repeats), other text stays text, and anything else is summarised as binary (size and
SHA-256), never kept. Credentials are redacted wherever they appear: JSON and form fields with a
credential's name (`password`, `ticket`, `access_token`...), and any string that is a JWT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

REDACTED = "[redacted]"
# Field names (lower-cased, without `_` and `-`) whose values are credentials, in any platform's body.
SECRET_FIELDS = frozenset(
    {
        "password",
        "ticket",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "token",
        "apikey",
        "clientsecret",
        "secret",
        "authorization",
    }
)
JWT = re.compile(r"^\s*\"?eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\"?\s*$")
TEXT_TYPES = ("text/", "application/xml", "application/javascript")


class _Absent:
    """No body at all (distinct from a JSON `null`)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True, slots=True)
class Body:
    """A body read once: `kind` is json, form, text, binary or empty; `value` what matching compares."""

    kind: str
    value: Any  # parsed JSON, the form as a dict, the text; ABSENT for binary and empty bodies
    size: int
    content_type: str | None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    kind = media_type(content_type)
    return kind == "application/json" or kind.endswith("+json")


def read(raw: bytes, content_type: str | None) -> Body:
    """What a body holds, parsed by its content type (a JSON body that does not parse is text)."""
    if not raw:
        return Body("empty", ABSENT, 0, content_type)
    kind = media_type(content_type)
    if is_json(content_type) or (not kind and raw[:1] in (b"{", b"[")):
        try:
            return Body("json", orjson.loads(raw), len(raw), content_type)
        except orjson.JSONDecodeError:
            pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Body("binary", ABSENT, len(raw), content_type)
    if kind == "application/x-www-form-urlencoded":
        form: dict[str, Any] = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            if name not in form:
                form[name] = value
            elif isinstance(form[name], list):
                form[name].append(value)
            else:
                form[name] = [form[name], value]
        return Body("form", form, len(raw), content_type)
    if kind and not kind.startswith(TEXT_TYPES) and not is_json(content_type):
        return Body("binary", ABSENT, len(raw), content_type)
    return Body("text", text, len(raw), content_type)


def is_secret_name(name: str) -> bool:
    return name.lower().replace("_", "").replace("-", "") in SECRET_FIELDS


def redact(value: Any) -> Any:
    """A copy of a parsed body with credentials replaced by REDACTED, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and is_secret_name(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and JWT.match(value):
        return REDACTED
    return value


SECRET_PAIR = re.compile(r'("([A-Za-z_-]{2,40})"\s*:\s*)"(?:[^"\\]|\\.)*"?')
SECRET_FORM_PAIR = re.compile(r"(^|&)([A-Za-z_-]{2,40})=([^&]*)")
JWT_ANYWHERE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def redact_text(text: str) -> str:
    """Credentials in text that could not be parsed (a truncated body): JWTs, and JSON or form pairs."""
    text = JWT_ANYWHERE.sub(REDACTED, text)
    text = SECRET_PAIR.sub(lambda m: f'{m.group(1)}"{REDACTED}"' if is_secret_name(m.group(2)) else m.group(0), text)
    return SECRET_FORM_PAIR.sub(
        lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}" if is_secret_name(m.group(2)) else m.group(0), text
    )


def summary(kept: bytes, content_type: str | None, size: int) -> dict[str, Any] | None:
    """The journal's view of a body it kept (`kept`: at most its first bytes; `size`: the whole).

    Redacted; a JSON body that was cut is shown as text (then `truncated` is true, and `verify`
    can no longer match its fields); a binary body as its size and type only.
    """
    truncated = len(kept) < size
    body = read(kept, content_type) if not truncated else _cut(kept, content_type)
    if body.kind == "empty":
        return None
    record: dict[str, Any] = {"kind": body.kind, "size": size, "contentType": content_type, "truncated": truncated}
    if body.kind != "binary":
        record["value"] = redact(body.value) if body.kind in ("json", "form") else redact_text(str(body.value))
    return record


def _cut(kept: bytes, content_type: str | None) -> Body:
    """The start of a body that was longer than the journal keeps: text (or binary), never parsed."""
    kind = media_type(content_type)
    text = kept.decode("utf-8", errors="ignore")
    binary = kind and not (kind.startswith(TEXT_TYPES) or is_json(content_type) or kind.endswith("form-urlencoded"))
    if binary or "\x00" in text:
        return Body("binary", ABSENT, len(kept), content_type)
    return Body("text", text, len(kept), content_type)
