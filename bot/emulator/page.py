"""The chat page: the emulated Telegram's people in a browser, for a developer to talk to the bot.

Why: the demo and the tests play people through the control API; a person trying the bot by
hand needs a chat. ``GET /`` (or ``/chat``) serves ``page.html``, one self-contained file (inline
CSS and JavaScript, no external assets, no build step) that does everything through the JSON
control API: ``overview`` and ``history`` to show each person's chat, ``wait_for_change`` as a
long poll for live updates, ``send_text`` / ``send_photo`` / ``send_location`` /
``press_button`` / ``press_reply_button`` / ``add_user`` to act. ``GET /_files/{file_id}`` serves
a stored file (a photo the bot or a person sent) to the page, with no token.

The page builds every piece of chat text as DOM text nodes, never as HTML, and is served with a
Content-Security-Policy that runs only its own script (a per-response nonce) and loads nothing
from elsewhere. Like the control API, it has no authentication: keep the emulator on 127.0.0.1.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .server import BotApiEmulator

PAGE_PATH = Path(__file__).resolve().parent / "page.html"
NONCE_MARK = "__NONCE__"
IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def add_routes(app: web.Application, emu: BotApiEmulator) -> None:
    template = PAGE_PATH.read_text(encoding="utf-8")

    async def page(request: web.Request) -> web.Response:
        nonce = secrets.token_urlsafe(16)
        policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
                  "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'")
        return web.Response(text=template.replace(NONCE_MARK, nonce), content_type="text/html",
                            headers={"Content-Security-Policy": policy, "Cache-Control": "no-store",
                                     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    async def file(request: web.Request) -> web.Response:
        stored = emu.world.files.get(request.match_info["file_id"])
        if stored is None or stored.data is None:
            raise web.HTTPNotFound(text="no such file (or the bot sent it by URL)")
        return web.Response(body=stored.data, content_type=content_type(stored.data, stored.meta.get("mime_type")),
                            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=3600",
                                     "Content-Security-Policy": "default-src 'none'; sandbox"})

    app.router.add_get("/", page)
    app.router.add_get("/chat", page)
    app.router.add_get("/_files/{file_id}", file)


def content_type(data: bytes, declared: str | None = None) -> str:
    """An image type read from the bytes; else the declared type if harmless; else binary."""
    for magic, kind in IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if declared and not any(word in declared.lower() for word in ("html", "xml", "javascript", "svg")):
        return declared
    return "application/octet-stream"
