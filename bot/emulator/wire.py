"""Reading Bot API parameters off the wire, the way Telegram accepts them.

Why: Telegram takes the same call as a query string, a JSON body, a urlencoded form or a
multipart form with file parts, and aiogram uses the forms (multipart once a file is
attached, with ``photo=attach://<part>`` pointing at the file part). Webhook replies may
carry a method call the same ways. Everything is read into memory with aiohttp's async
readers, so no temp files and no blocking I/O.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from .errors import bad_request

MAX_UPLOAD = 50 * 1024 * 1024  # Telegram's limit for bot uploads


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request: the bytes a bot uploaded."""

    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict[str, Any]:
        """Short form for the call log, so logs never hold megabytes of bytes."""
        return {"upload": self.filename, "content_type": self.content_type, "size": len(self.data)}


async def read_multipart(reader: MultipartReader) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Split a multipart body into plain fields and file parts (keyed by part name)."""
    fields: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.filename is not None:
            data = await part.read(decode=True)
            if len(data) > MAX_UPLOAD:
                raise bad_request("file is too big")
            ctype = part.headers.get("Content-Type") or ""
            if not ctype or ctype == "application/octet-stream":
                ctype = mimetypes.guess_type(part.filename)[0] or "application/octet-stream"
            uploads[part.name] = Upload(part.filename, ctype, bytes(data))
        else:
            fields[part.name] = await part.text()
    return fields, uploads


async def read_request(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Return ``(fields, uploads)`` of an API call; body values override the query string.

    JSON bodies keep native types; form values stay strings for :mod:`.spec` to coerce.
    """
    fields: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method != "POST" or not request.can_read_body:
        return fields, uploads
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad_request("JSON request body must be an object")
        fields.update(body)
    elif ctype.startswith("multipart/"):
        more, uploads = await read_multipart(await request.multipart())
        fields.update(more)
    else:  # application/x-www-form-urlencoded or an empty/unknown type
        form = await request.post()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    return fields, uploads
