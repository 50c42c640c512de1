"""File objects: attachments uploaded to a form, and downloads of any file object's content.

`POST /DataForms/{FormId}/Attachments` takes one multipart part per file (the part's name is the
form's attachment field, its filename names the file), as InRule's BariumLiveHelper sends them.
Each file becomes a file object of the form's instance, attached to the form (`ParentId`), and
the form's field of that name holds the file names.

An uploaded file keeps its bytes (base64 in the object's `Content`) and the content type its
part was sent with. A seeded file object stores no bytes: its content is a small one-page PDF
(or a text file) written from the object's own fields, so it is the same on every download, in
every sandbox and after a snapshot, and seeding 100,000 instances costs nothing extra.

The download names the file the way ASP.NET's `ContentDispositionHeaderValue` does, with both
`filename` and `filename*`: clients such as ssb-altinn3-util find the name with
`filename=(.+?);`, which needs a parameter after it.
"""

from __future__ import annotations

import base64
import mimetypes
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import quote

from aiohttp import web

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.barium import process
from instancemock.platforms.barium.access import (
    bad_field,
    check_version,
    created_item,
    docs,
    instance_object,
    instance_of,
    new_id,
    object_of,
)
from instancemock.platforms.barium.forms import MULTIPART, Part, media_type, multipart_parts
from instancemock.world.clock import iso
from instancemock.world.store import Document

OCTET_STREAM = "application/octet-stream"
TOKEN_CHARACTERS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def content_type_of(name: str, sent: str | None = None) -> str:
    """The part's own content type, else one guessed from the file name."""
    if sent and sent.strip():
        return sent.strip()
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or OCTET_STREAM


def content_disposition(name: str) -> str:
    """`attachment; filename=...; filename*=UTF-8''...`: a token, or a quoted ASCII fallback."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 else "_" for ch in name) or "file"
    if any(ch not in TOKEN_CHARACTERS for ch in fallback):
        fallback = '"' + fallback.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"attachment; filename={fallback}; filename*=UTF-8''{quote(name, safe='')}"


def stored_bytes(obj: Document) -> bytes:
    """The file's bytes: what was uploaded, or the seeded object's own small file."""
    if obj.get("Content") is not None:
        return base64.b64decode(obj["Content"])
    lines = [
        str(obj.get("Description") or ""),
        f"Objekt {obj['Id']}",
        f"Instans {obj.get('InstanceId', '')}",
        f"Skapad {obj.get('CreatedDate') or ''}",
    ]
    if str(obj.get("FileType") or "").lower() == "pdf":
        return one_page_pdf(str(obj["Name"]), lines)
    return "\r\n".join([str(obj["Name"]), *lines, ""]).encode()


def _pdf_text(text: str) -> bytes:
    """A PDF string literal in WinAnsi (Swedish letters included), with its specials escaped."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def one_page_pdf(title: str, lines: list[str]) -> bytes:
    """A valid single-page A4 PDF with a title and a few lines of Helvetica, a few hundred bytes."""
    text = [b"BT /F1 16 Tf 56 780 Td ", _pdf_text(title), b" Tj /F1 11 Tf"]
    for line in lines:
        text += [b" 0 -22 Td ", _pdf_text(line), b" Tj"]
    stream = b"".join([*text, b" ET"])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _download(c: Ctx, obj: Document) -> web.Response:
    if obj["Type"] != "file":
        raise Refusal(404, f"The object {obj['Name']} is a {obj['Type']}; it has no file.")
    check_version(c, obj)
    name = str(obj["Name"])
    media_type = content_type_of(name, obj.get("ContentType"))
    if not PurePosixPath(name).suffix and obj.get("FileType"):
        name = f"{name}.{obj['FileType']}"
    return web.Response(
        body=stored_bytes(obj),
        headers={"Content-Type": media_type, "Content-Disposition": content_disposition(name)},
    )


async def get_object_file(request: web.Request) -> web.Response:
    c = ctx(request)
    obj = (await object_of(c, c.args.path["Id"])).doc
    return _download(c, obj)


async def get_instance_object_file(request: web.Request) -> web.Response:
    c = ctx(request)
    _, obj = await instance_object(c)
    return _download(c, obj)


async def attach_to_form(request: web.Request) -> web.Response:
    c = ctx(request)
    form = (await object_of(c, c.args.path["FormId"])).doc
    if form["Type"] != "form":
        raise Refusal(404, f"The object {form['Name']} is a {form['Type']}, not a form; files attach to forms.")
    instance = (await instance_of(c, form["InstanceId"])).doc
    if media_type(c) != MULTIPART:
        raise bad_field("", "Attachments are uploaded as multipart/form-data, one part per file.")
    parts = [p for p in multipart_parts(c) if p.filename is not None]
    if not parts:
        raise bad_field("", "Send at least one file: a part with a name (the attachment field) and a filename.")
    if instance["Status"] in process.FINISHED:
        raise Refusal(409, f"The instance {instance['Name']} is {instance['Status']}; files cannot be attached.")
    now = c.now()
    next_index = max((d["SortIndex"] for d in await docs(c, "objects", InstanceId=instance["Id"])), default=-1) + 1
    attached = [_attachment(instance, form, part, now, next_index + n) for n, part in enumerate(parts)]
    for obj in attached:
        await c.store.put("objects", obj["Id"], obj)
    await c.store.put("objects", form["Id"], _with_file_fields(form, parts, iso(now)))
    await c.store.put("instances", instance["Id"], {**instance, "UpdatedDate": iso(now)})
    return json_response({"success": True, "Items": [created_item(c, obj) for obj in attached]})


def _attachment(instance: Document, form: Document, part: Part, now: datetime, sort_index: int) -> Document:
    name = str(part.filename)
    obj = process.new_object(
        instance,
        id=new_id(),
        data_id=new_id(),
        kind="file",
        name=name,
        description=f"{part.name} ({form['Name']})",
        at=now,
        sort_index=sort_index,
        file_type=PurePosixPath(name).suffix.lstrip(".").lower() or None,
        content=base64.b64encode(part.value).decode(),
        size=len(part.value),
        content_type=content_type_of(name, part.content_type),
        parent_id=form["Id"],
    )
    return {**obj, "ReferenceId": part.name}


def _with_file_fields(form: Document, parts: list[Part], at: str) -> Document:
    """The form with each attachment field (matched case-insensitively) naming its files."""
    fields = [dict(f) for f in form.get("Fields") or []]
    by_name = {f["Name"].lower(): f for f in fields}
    for part in parts:
        field = by_name.get(part.name.lower())
        if field is None:
            field = {"Id": new_id(), "Name": part.name, "Type": "file", "Value": None, "Required": False, "Options": []}
            fields.append(field)
            by_name[part.name.lower()] = field
        field["Value"] = ", ".join(filter(None, [field["Value"] if field["Type"] == "file" else None, part.filename]))
    return {**form, "Fields": fields, "UpdatedDate": at, "DataId": new_id()}
