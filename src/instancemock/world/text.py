"""JSON text: no lone surrogates anywhere in a document, and large documents read and written in steps.

Lone surrogates. Python's `json.loads` accepts `"\\ud800"` (and the raw bytes ED A0 80) and
hands back a `str` holding half a UTF-16 pair. Such a string cannot be encoded as UTF-8, so every
answer that includes it, and every save of the state, would fail later, far from the request that
brought it in. Requests (core/media.py) and state documents (world/snapshot.py) are checked at
the door instead, and the refusal names the field, as ASP.NET's JSON reader does.

Large documents. A C function holds the interpreter lock until it returns: the standard library's
JSON decoder and encoder for a whole document, and even a `bytes.decode`, a `str.encode` or a
regular-expression search over it. For a 10 MB body or a 12 MB export that is tens to hundreds of
milliseconds in which no other thread runs, the event loop's included, even when the work itself
runs in a worker thread. From `LARGE_JSON` bytes on, the functions here do the same work in
pieces of `STEP` bytes (or one string or number at a time, with the standard library's
pure-Python scanner and encoder), so the loop gets its turn between them; and no collection of
the garbage collector, which would walk every object the parse has made so far, runs meanwhile.
They are slower, so they run in worker threads.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import json
import json.scanner
import re
from collections.abc import Iterable, Iterator
from typing import Any

LARGE_JSON = 1024 * 1024  # bytes: a C parse of this much takes a few milliseconds
STEP = 256 * 1024  # bytes (or characters) per C call on a large text

# A `\uD800`-`\uDFFF` escape, or a surrogate encoded as UTF-8 bytes (ED A0-BF xx): only a body that
# holds one of these is walked for lone surrogates.
_MAYBE = re.compile(rb"\\u[dD][89abAB]|\\u[dD][c-fC-F]|\xed[\xa0-\xbf]")
_OVERLAP = 5  # bytes a candidate can span across two pieces, less one


class LoneSurrogate(ValueError):
    """A string in a JSON document holds half a UTF-16 surrogate pair."""

    def __init__(self, path: str, code: int) -> None:
        super().__init__(f"{path or '(root)'}: the text holds a lone surrogate (\\u{code:04x}), which is not Unicode")
        self.path = path
        self.code = code


def may_hold_lone_surrogate(raw: bytes) -> bool:
    """Whether `raw` has a surrogate escape or bytes; piece by piece, each piece searched only if it
    holds a backslash-u or an ED byte at all (two fast scans, where the pattern search is slow)."""
    for start in range(0, len(raw), STEP):
        piece = raw[start : start + STEP + _OVERLAP]
        if (b"\\u" in piece or b"\xed" in piece) and _MAYBE.search(piece) is not None:
            return True
    return False


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
            stack.extend(reversed([(f"{where}.{i}" if where else str(i), child) for i, child in enumerate(item)]))
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


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while a large document is built: each would walk it all again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def decode(raw: bytes) -> str:
    """JSON bytes as text, as `json.loads` reads them (UTF-8/16/32, surrogates passed), piece by piece."""
    decoder = codecs.getincrementaldecoder(json.detect_encoding(raw))("surrogatepass")
    pieces = [decoder.decode(raw[start : start + STEP]) for start in range(0, len(raw), STEP)]
    pieces.append(decoder.decode(b"", final=True))
    return "".join(pieces)


def encode(pieces: Iterable[str], ascii_only: bool = False) -> bytes:
    """Pieces of text as UTF-8, encoded a batch of about `STEP` characters at a time."""
    out: list[bytes] = []
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= STEP:
            out.append("".join(batch).encode("ascii" if ascii_only else "utf-8"))
            batch, size = [], 0
    out.append("".join(batch).encode("ascii" if ascii_only else "utf-8"))
    return b"".join(out)


def loads(raw: bytes | str) -> Any:
    """`json.loads` (strict: no NaN), in small steps for a large text (the event loop keeps its turn)."""
    if len(raw) < LARGE_JSON:
        return json.loads(raw, parse_constant=not_json)
    if isinstance(raw, bytes | bytearray):
        text = decode(bytes(raw))
    elif raw.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
    else:
        text = raw
    decoder = json.JSONDecoder(parse_constant=not_json)
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    with collector_paused():
        return decoder.decode(text)


def dumps(value: Any, in_steps: bool = False) -> bytes:
    """`json.dumps(value).encode()`, byte for byte; `in_steps` for a value known to be large."""
    encoder = json.JSONEncoder()
    return encode(encoder.iterencode(value), ascii_only=True) if in_steps else encoder.encode(value).encode()
