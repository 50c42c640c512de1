"""The process diagram of an instance as a PNG, drawn with Pillow.

A start event, the app's steps left to right (user tasks as boxes, message events as circles) and
an end event, joined by arrows. Done steps are green with a check mark, the current one is
highlighted in orange; a cancelled or aborted instance shows its stop in red. The picture is drawn
at the requested scale rather than resized afterwards, so text stays sharp.
"""

from __future__ import annotations

import functools
import io
import textwrap
import unicodedata
from dataclasses import dataclass

from aiohttp import web
from PIL import Image, ImageDraw, ImageFont

from instancemock.core.context import ctx
from instancemock.core.errors import Refusal
from instancemock.platforms.barium.access import app_of, instance_of
from instancemock.world.store import Document

BOX_W, BOX_H, GAP, MARGIN, EVENT = 150, 70, 50, 30, 36
TITLE_H = 40
MAX_SIDE = 4096  # [I] larger requests are scaled down to this, so a typo cannot eat the memory

DONE, CURRENT, WAITING, STOPPED = "#d9f2dc", "#ffd8a8", "#ffffff", "#f8d0d0"
LINE, TEXT = "#44546a", "#1f2933"
FONT = "DejaVuSans.ttf"


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # "start", "task", "message", "end"
    label: str
    state: str  # "done", "current", "waiting", "stopped"


def nodes(app: Document, instance: Document) -> list[Node]:
    step = int(instance.get("Step", -1))
    status = instance["Status"]
    out = [Node("start", "", "done")]
    for index, definition in enumerate(app["Steps"]):
        if index < step or status == "completed":
            state = "done"
        elif index == step:
            state = "stopped" if status in ("cancelled", "aborted") else "current"
        else:
            state = "waiting"
        out.append(Node(definition["Kind"], definition["Name"], state))
    out.append(Node("end", "", "done" if status == "completed" else "waiting"))
    return out


def base_size(count: int) -> tuple[int, int]:
    """Unscaled size for `count` steps plus the start and end events."""
    width = 2 * MARGIN + 2 * EVENT + count * BOX_W + (count + 1) * GAP
    return width, TITLE_H + 2 * MARGIN + BOX_H


def scale_for(size: tuple[int, int], zoom: float, width: int | None, height: int | None) -> float:
    """`Width`/`Height` fit the picture within them (keeping its aspect) and win over `ZoomFactor`."""
    w, h = size
    if width is not None and height is not None:
        scale = min(width / w, height / h)
    elif width is not None:
        scale = width / w
    elif height is not None:
        scale = height / h
    else:
        scale = zoom
    return min(scale, MAX_SIDE / w, MAX_SIDE / h)


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where the system has it; else Pillow's own font, which lacks å, ä and ö."""
    try:
        return ImageFont.truetype(FONT, max(size, 4))
    except OSError:
        return ImageFont.load_default(size=max(size, 4))


def _text(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> str:
    if isinstance(font, ImageFont.FreeTypeFont) and FONT in str(font.path):
        return text
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def render(app: Document, instance: Document, scale: float) -> bytes:
    items = nodes(app, instance)
    w, h = base_size(len(items) - 2)
    width, height = max(1, round(w * scale)), max(1, round(h * scale))
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def s(value: float) -> float:
        return value * scale

    line = max(1, round(s(2)))
    title = f"{app['Name']} - {instance['Name']} ({instance['Status']})"
    font = _font(round(s(16)))
    draw.text((s(MARGIN), s(MARGIN / 2)), _text(font, title), fill=TEXT, font=font)
    mid = TITLE_H + MARGIN + BOX_H / 2
    x = float(MARGIN)
    previous_right: float | None = None
    fills = {"done": DONE, "current": CURRENT, "waiting": WAITING, "stopped": STOPPED}
    for node in items:
        span = EVENT if node.kind in ("start", "end") else BOX_W
        if previous_right is not None:
            draw.line([(s(previous_right), s(mid)), (s(x), s(mid))], fill=LINE, width=line)
            tip = [(s(x), s(mid)), (s(x - 8), s(mid - 5)), (s(x - 8), s(mid + 5))]
            draw.polygon(tip, fill=LINE)
        outline = "#e8590c" if node.state == "current" else "#c92a2a" if node.state == "stopped" else LINE
        width_line = line * 2 if node.state in ("current", "stopped") else line
        if node.kind in ("start", "end"):
            box = [s(x), s(mid - EVENT / 2), s(x + EVENT), s(mid + EVENT / 2)]
            draw.ellipse(
                box, fill=fills[node.state], outline=outline, width=width_line * (2 if node.kind == "end" else 1)
            )
        elif node.kind == "message":
            box = [s(x + (BOX_W - BOX_H) / 2), s(mid - BOX_H / 2), s(x + (BOX_W + BOX_H) / 2), s(mid + BOX_H / 2)]
            draw.ellipse(box, fill=fills[node.state], outline=outline, width=width_line)
            _label(draw, node.label, x, mid + BOX_H / 2 + 2, scale, below=True)
        else:
            box = [s(x), s(mid - BOX_H / 2), s(x + BOX_W), s(mid + BOX_H / 2)]
            draw.rounded_rectangle(box, radius=s(10), fill=fills[node.state], outline=outline, width=width_line)
            _label(draw, node.label, x, mid, scale)
        if node.state == "done" and node.kind in ("task", "message"):
            cx, cy = x + BOX_W - 16, mid - BOX_H / 2 + 12
            draw.line([(s(cx - 6), s(cy)), (s(cx - 1), s(cy + 5)), (s(cx + 7), s(cy - 6))], fill="#2b8a3e", width=line)
        previous_right = x + span
        x += span + GAP
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _label(draw: ImageDraw.ImageDraw, text: str, x: float, mid: float, scale: float, below: bool = False) -> None:
    font = _font(round(12 * scale))
    lines = textwrap.wrap(_text(font, text), 18)[:3]
    line_h = 15
    top = mid if below else mid - len(lines) * line_h / 2
    for index, part in enumerate(lines):
        length = draw.textlength(part, font=font) / scale
        draw.text(((x + (BOX_W - length) / 2) * scale, (top + index * line_h) * scale), part, fill=TEXT, font=font)


async def get_instance_image(request: web.Request) -> web.Response:
    c = ctx(request)
    instance = (await instance_of(c, c.args.path["Id"])).doc
    app = (await app_of(c, instance["ApplicationId"])).doc
    zoom = float(c.args.query.get("ZoomFactor", 1.0))
    width, height = c.args.query.get("Width"), c.args.query.get("Height")
    scale = scale_for(base_size(len(app["Steps"])), zoom, width, height)
    if scale <= 0:
        raise Refusal(400, "The image would be empty; use a larger ZoomFactor, Width or Height.")
    return web.Response(body=render(app, instance, scale), content_type="image/png")
