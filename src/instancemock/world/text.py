"""JSON text: no lone surrogates anywhere in a document, and large documents read and written in steps.

Lone surrogates. Python's `json.loads` accepts `"\\ud800"` (and the raw bytes ED A0 80) and hands back a `str`
holding half a UTF-16 pair. Such a string cannot be encoded as UTF-8, so every answer that
includes it, and every save of the state, would fail later, far from the request that brought it
in. Requests (core/media.py) and state documents (world/snapshot.py) are checked at the door
instead, and the refusal names the field, as ASP.NET's JSON reader does.

Large documents. The standard library's C decoder and encoder hold the interpreter lock for a
whole document: parsing a 10 MB body, or encoding a 12 MB export, stops every other thread, the
event loop's included, for hundreds of milliseconds, even when it runs in a worker thread. From
`LARGE_JSON` bytes on, `loads` and `dumps` use the standard library's pure-Python scanner and
encoder instead: the same results, built from small C calls (one per string or number), between
which the event loop gets its turn. They are slower, so they run in worker threads.
"""

from __future__ import annotations

import json
import json.scanner
import re
from typing import Any

LARGE_JSON = 256 * 1024  # bytes

# A `\uD800`-`\uDFFF` escape, or a surrogate encoded as UTF-8 bytes (ED A0-BF xx): only a body that
# holds one of these is walked, so ordinary bodies cost one regular-expression scan.
_MAYBE = re.compile(rb"\\u[dD][89abAB]|\\u[dD][c-fC-F]|\xed[\xa0-\xbf]")


class LoneSurrogate(ValueError):
    """A string in a JSON document holds half a UTF-16 surrogate pair."""

    def __init__(self, path: str, code: int) -> None:
        super().__init__(f"{path or '(root)'}: the text holds a lone surrogate (\\u{code:04x}), which is not Unicode")
        self.path = path
        self.code = code


def may_hold_lone_surrogate(raw: bytes) -> bool:
    return _MAYBE.search(raw) is not None


def _lone(text: str) -> int | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return ord(text[error.start])
    return None


def find_lone_surrogate(value: Any, path: str = "") -> LoneSurrogate | None:
    """The first lone surrogate in `value` (strings and keys, depth first), with its dotted path."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            code = _lone(item)
            if code is not None:
                return LoneSurrogate(where, code)
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                code = _lone(key) if isinstance(key, str) else None
                if code is not None:
                    return LoneSurrogate(name.encode("utf-8", "backslashreplace").decode(), code)
                children.append((name, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(
                reversed([(f"{where}.{index}" if where else str(index), child) for index, child in enumerate(item)])
            )
    return None


def check_text(raw: bytes, value: Any) -> None:
    """Raise LoneSurrogate if the document parsed from `raw` holds one (cheap when `raw` cannot)."""
    if may_hold_lone_surrogate(raw):
        found = find_lone_surrogate(value)
        if found is not None:
            raise found


def not_json(constant: str) -> Any:
    """`NaN`, `Infinity` and `-Infinity` are JavaScript, not JSON: refused as System.Text.Json does."""
    raise ValueError(f"{constant} is not a JSON value")


def loads(raw: bytes | str) -> Any:
    """`json.loads` (strict: no NaN), in small steps for a large text (the event loop keeps its turn)."""
    if len(raw) < LARGE_JSON:
        return json.loads(raw, parse_constant=not_json)
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode(json.detect_encoding(raw), "surrogatepass")
    elif raw.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
    else:
        text = raw
    decoder = json.JSONDecoder(parse_constant=not_json)
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def dumps(value: Any, ensure_ascii: bool = True, in_steps: bool = False) -> str:
    """Compact `json.dumps`; `in_steps` for a value known to be large (the event loop keeps its turn)."""
    encoder = json.JSONEncoder(ensure_ascii=ensure_ascii, separators=(",", ":"))
    return "".join(encoder.iterencode(value)) if in_steps else encoder.encode(value)
