"""Data elements' bytes and the checks an upload must pass, shared by the App API and Storage.

The App API writes data elements (`../app/data.py`) and Storage serves them back
(`../storage.py`), from one store: an element's metadata lives in its instance's `data` list,
its bytes in the collection `dataBlobs` (base64, keyed by the element's GUID). Seeded elements
have no stored bytes; they are made on demand from the element itself (`seeded_bytes`), so the
same seed always serves the same bytes and the seeder stores nothing extra.

The upload checks are app-lib's DataRestrictionValidation in its order: a Content-Disposition
header, `maxSize` (megabytes) against the request's length, a filename with an extension, and,
when the data type lists `allowedContentTypes`, a Content-Type that matches the file's extension
and is one of the allowed ones.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from instancemock.platforms.altinn.domain.forms import FORM_DATA, form_bytes, is_form, root_name
from instancemock.world.store import Document, Store

BLOBS = "dataBlobs"  # collection: data element GUID -> {"instanceGuid", "base64"}
RESTRICTION_SOURCE = "DataRestrictionValidation"
ERROR_BASE = "Invalid data provided. Error:"
REF_DATA_AS_PDF = "ref-data-as-pdf"  # app-lib's PDF element type: never written by clients

# What an extension's file is (a small part of app-lib's MimeTypeMap); `.xml` is both XML types.
MIME_TYPES: dict[str, tuple[str, ...]] = {
    ".pdf": ("application/pdf",),
    ".png": ("image/png",),
    ".jpg": ("image/jpeg",),
    ".jpeg": ("image/jpeg",),
    ".gif": ("image/gif",),
    ".tif": ("image/tiff",),
    ".tiff": ("image/tiff",),
    ".xml": ("application/xml", "text/xml"),
    ".json": ("application/json",),
    ".csv": ("text/csv",),
    ".txt": ("text/plain",),
    ".html": ("text/html",),
    ".htm": ("text/html",),
    ".zip": ("application/zip",),
    ".doc": ("application/msword",),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    ".xls": ("application/vnd.ms-excel",),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
}
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Upload:
    """What a client sent to create or replace a data element."""

    data: bytes
    content_type: str | None  # the Content-Type header as sent
    disposition: str | None  # the Content-Disposition header as sent
    length: int  # the request's Content-Length (the body's length when it had none)

    @property
    def filename(self) -> str | None:
        return filename_of(self.disposition) if self.disposition is not None else None


def media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


# --- Content-Disposition ---------------------------------------------------------------------


def _params(header: str) -> dict[str, str]:
    """The `name=value` parameters of a header, quotes honoured, names lower-cased."""
    found: dict[str, str] = {}
    parts: list[str] = []
    current, quoted = "", False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    for part in parts[1:]:
        name, eq, value = part.partition("=")
        if eq:
            found[name.strip().lower()] = value.strip()
    return found


def filename_of(header: str) -> str | None:
    """`filename*` (RFC 5987) before `filename`, surrounding quotes trimmed, as app-lib reads it."""
    params = _params(header)
    star = params.get("filename*")
    if star:
        _, _, encoded = star.strip('"').partition("''")
        if encoded:
            return unquote(encoded).strip('"') or None
    plain = params.get("filename")
    if plain is None:
        return None
    name = plain.strip('"').replace('\\"', '"')
    return name or None


TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """What ASP.NET's `File(stream, type, name)` writes: `filename` (quoted only when it must be,
    non-ASCII as `_`) and always `filename*=UTF-8''…`; ssb-altinn3-util reads `filename=(.+?);`."""
    ascii_name = "".join(ch if ord(ch) < 128 else "_" for ch in filename)
    shown = ascii_name if ascii_name and set(ascii_name) <= TOKEN else '"' + ascii_name.replace('"', '\\"') + '"'
    return f"{disposition}; filename={shown}; filename*=UTF-8''{quote(filename, safe='')}"


# --- DataRestrictionValidation ---------------------------------------------------------------


def restriction_issues(data_type: dict[str, Any], upload: Upload) -> list[dict[str, Any]]:
    """The first restriction the upload breaks, as app-lib's ValidationIssueWithSource ([]: none)."""
    if upload.disposition is None:
        return [_issue("ContentTypeNotAllowed", f"{ERROR_BASE} The request must include a Content-Disposition header")]
    max_size = data_type.get("maxSize")
    if max_size is not None and upload.length > int(max_size) * 1024 * 1024:
        limit = int(max_size) * 1024 * 1024
        return [_issue("DataElementTooLarge", f"{ERROR_BASE} Binary attachment exceeds limit of {limit}")]
    filename = upload.filename
    if not filename:
        return [_issue("MissingFileName", f"{ERROR_BASE} The Content-Disposition header must contain a valid filename")]
    if "." not in filename:
        return [
            _issue(
                "InvalidFileNameFormat",
                f"{ERROR_BASE} Invalid format for filename: {filename}. "
                "Filename is expected to end with '.{filetype}'.",
            )
        ]
    allowed = [str(a) for a in data_type.get("allowedContentTypes") or []]
    if not allowed:
        return []
    extension = "." + filename.rsplit(".", 1)[1].lower()
    mime_types = MIME_TYPES.get(extension, (OCTET_STREAM,))
    if upload.content_type is None:
        return [_issue("InvalidFileNameFormat", f"{ERROR_BASE} Content-Type header must be included in request.")]
    sent = upload.content_type.strip()
    if sent != OCTET_STREAM and media(sent) not in mime_types:
        return [
            _issue(
                "InvalidFileNameFormat",
                f"{ERROR_BASE} Content type header {sent} does not match mime type {mime_types[0]} for uploaded "
                "file. Please fix header or upload another file.",
            )
        ]
    if media(sent) not in {a.lower() for a in allowed} and OCTET_STREAM not in allowed:
        return [
            _issue(
                "ContentTypeNotAllowed",
                f"{ERROR_BASE} Invalid content type: {mime_types[0]}. Please try another file. Permitted content "
                f"types include: {', '.join(allowed)}",
            )
        ]
    return []


def _issue(code: str, description: str) -> dict[str, Any]:
    return {
        "severity": 1,
        "dataElementId": None,
        "field": None,
        "code": code,
        "description": description,
        "source": RESTRICTION_SOURCE,
        "noIncrementalUpdates": False,
        "customTextKey": None,
        "customTextParameters": None,
    }


# --- the bytes -------------------------------------------------------------------------------


async def content_of(store: Store, element: Document, data_type: dict[str, Any] | None) -> bytes:
    """What the element holds: a form's model in the element's content type, else its bytes."""
    if data_type is not None and is_form(data_type):
        stored = await store.get(FORM_DATA, str(element["id"]))
        values = dict(stored.doc.get("values") or {}) if stored else {}
        return form_bytes(values, str(element.get("contentType") or ""), root_name(data_type))
    return await read_bytes(store, element)


def file_headers(element: Document) -> dict[str, str]:
    """ASP.NET's `File(stream, contentType, filename)`: the stored type, `attachment` with the name."""
    headers = {"Content-Type": str(element.get("contentType") or OCTET_STREAM)}
    if element.get("filename"):
        headers["Content-Disposition"] = content_disposition(str(element["filename"]))
    return headers


async def read_bytes(store: Store, element: Document) -> bytes:
    """The element's stored bytes, or the seeded ones when nothing was ever uploaded for it."""
    found = await store.get(BLOBS, str(element["id"]))
    if found is not None:
        return base64.b64decode(found.doc["base64"])
    return seeded_bytes(element)


async def write_bytes(store: Store, element_id: str, instance_guid: str, data: bytes) -> None:
    await store.put(BLOBS, element_id, {"instanceGuid": instance_guid, "base64": base64.b64encode(data).decode()})


def seeded_bytes(element: Document) -> bytes:
    """`size` bytes that look like the element's content type, the same for the same element.

    A string seed makes `random.Random` hash it (SHA-512), so the bytes do not depend on the
    interpreter's hash randomisation.
    """
    size = max(int(element.get("size") or 0), 0)
    rng = random.Random(f"altinn-data:{element.get('id')}")
    kind = media(element.get("contentType"))
    head, tail = _frame(kind)
    if len(head) + len(tail) >= size:
        return (head + tail)[:size]
    middle = size - len(head) - len(tail)
    if kind.startswith("text/") or "xml" in kind or "json" in kind:
        alphabet = b"abcdefghijklmnopqrstuvwxyz     ,.\n"
        filler = bytes(alphabet[int(rng.random() * len(alphabet))] for _ in range(middle))
    else:
        filler = rng.randbytes(middle)
    return head + filler + tail


def _frame(kind: str) -> tuple[bytes, bytes]:
    if kind == "application/pdf":
        return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    if kind == "image/png":
        return b"\x89PNG\r\n\x1a\n", b""
    if kind == "image/jpeg":
        return b"\xff\xd8\xff\xe0", b"\xff\xd9"
    if "xml" in kind:
        return b'<?xml version="1.0" encoding="utf-8"?><data><![CDATA[', b"]]></data>"
    if "json" in kind:
        return b'{"data":"', b'"}'
    return b"", b""


# --- file scans ------------------------------------------------------------------------------


def finish_file_scans(doc: Document) -> Document | None:
    """A copy of `doc` whose `Pending` scans are done (`Clean`), or None when none was pending.

    [I] The mock's virus scanner finds nothing and takes no time: an upload answers `Pending`,
    the next read of the instance shows `Clean` (wenche and app-frontend-react poll for it).
    """
    if not any(e.get("fileScanResult") == "Pending" for e in doc.get("data") or []):
        return None
    new = dict(doc)
    new["data"] = [
        e | {"fileScanResult": "Clean"} if e.get("fileScanResult") == "Pending" else e for e in doc.get("data") or []
    ]
    return new
