"""media/upload and media/get (PROTOCOL.md §3.5), and the PicUrl of members' photos.

Why exact: the adapter uploads evidence photos and reports and downloads what engineers send. On
upload the field is ``media`` (multipart), ``type`` is image|voice|video|file, ``created_at`` comes
back as a **string**, the media_id lasts 3 days. media/get answers the bytes with Content-Type and
``Content-disposition: attachment; filename="MEDIA_ID.ext"``, honours ``Range`` (206), and on error
answers **JSON** with HTTP 200 (40007), so a client must look at the content type.

Codes (d90313): 40004 type invalid, 44001 empty or missing ``media``, 40006 a file of 5 bytes or
less, 40005 an image that is not JPG/PNG, 40009 image over 10 MB, 40011 video over 10 MB,
45001 voice over 2 MB or file over 20 MB, 40007 unknown or expired media_id.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import WeComError, ok
from .state import Media, random_id
from .wire import Call, Route

if TYPE_CHECKING:
    from .server import WeComEmulator

MEDIA_TTL = 3 * 24 * 3600
MB = 1024 * 1024
LIMITS = {"image": (10 * MB, 40009), "voice": (2 * MB, 45001), "video": (10 * MB, 40011), "file": (20 * MB, 45001)}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "audio/amr": "amr", "video/mp4": "mp4"}
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def sniff(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"#!AMR"):
        return "audio/amr"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


def store(emu: WeComEmulator, kind: str, data: bytes, filename: str) -> Media:
    """Check and keep one file; returns the Media (raises WeComError like media/upload)."""
    if kind not in LIMITS:
        raise WeComError(40004, f"type must be one of {sorted(LIMITS)}")
    if not data:
        raise WeComError(44001)
    if len(data) <= 5:
        raise WeComError(40006, "every file must be larger than 5 bytes")
    limit, code = LIMITS[kind]
    if len(data) > limit:
        raise WeComError(code, f"{kind} over {limit // MB} MB")
    content_type = sniff(data)
    if kind == "image" and content_type not in ("image/jpeg", "image/png"):
        raise WeComError(40005, "an image must be JPG or PNG")
    media_id = "3" + random_id(63, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    media = Media(media_id, kind, bytes(data), filename or media_id, content_type, emu.world.now())
    emu.world.media[media_id] = media
    return media


async def upload(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    kind = call.query.get("type", "")
    if kind not in LIMITS:
        raise WeComError(40004, f"type must be one of {sorted(LIMITS)}")
    data, filename = b"", ""
    if call.request.content_type.startswith("multipart/"):
        reader = await call.request.multipart()
        async for part in reader:
            if part.name == "media":
                data = bytes(await part.read())
                filename = part.filename or ""
            else:
                await part.release()
    else:
        emu.world.violation("upload_not_multipart", "media/upload needs multipart/form-data with field 'media'")
    media = store(emu, kind, data, filename)
    return ok(type=kind, media_id=media.media_id, created_at=str(int(media.created_at)))


def find(emu: WeComEmulator, media_id: str | None) -> Media:
    media = emu.world.media.get(media_id or "")
    if media is None or emu.world.now() - media.created_at > MEDIA_TTL:
        raise WeComError(40007)
    return media


def get(emu: WeComEmulator, call: Call) -> web.StreamResponse:
    media = find(emu, call.query.get("media_id"))
    emu.world.count("media_downloads")
    return media_response(media, call.request.headers.get("Range"))


def media_response(media: Media, range_header: str | None) -> web.StreamResponse:
    ext = EXTENSIONS.get(media.content_type, "bin" if media.type != "file" else media.filename.rsplit(".", 1)[-1])
    headers = {"Content-disposition": f'attachment; filename="{media.media_id}.{ext}"', "Accept-Ranges": "bytes"}
    data, status = media.data, 200
    match = RANGE_RE.match(range_header.strip()) if range_header else None
    if match and (match.group(1) or match.group(2)):
        size = len(data)
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:
            start, end = max(0, size - int(match.group(2))), size - 1
        if start >= size or start > end:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        data, status = data[start:end + 1], 206
    return web.Response(body=data, status=status, content_type=media.content_type, headers=headers)


ROUTES = {
    "media/upload": Route("POST", upload, body="multipart"),
    "media/get": Route("GET", get, body=None),
}
