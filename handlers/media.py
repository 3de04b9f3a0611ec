"""Content-addressed media storage: a file is stored once under its SHA-256.

Photos are evidence (arrival, progress, signed forms), so they are kept by content: the same photo
sent twice is stored once, and a stored file can be verified against its recorded hash.

Every file is inspected in the same worker thread before it is written
(:func:`handlers.photo_check.inspect`): one that is not a usable image (not an image, a
decompression bomb, broken) is not written at all — :attr:`StoredFile.facts` says why and the flow
refuses it — and a good one's EXIF (capture time, GPS) comes back with it, so no image work is
left for the database transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from handlers.photo_check import PhotoFacts, inspect


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the media directory: ab/cd/abcd….jpg
    sha256: str
    size: int
    mime: str
    #: What the image is (EXIF place and time), or why it was refused (then nothing was written).
    facts: PhotoFacts | None = None


def _sniff(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    return "application/octet-stream", ".bin"


class MediaStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _write(self, data: bytes, *, photo: bool) -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        mime, ext = _sniff(data)
        rel = Path(digest[:2]) / digest[2:4] / f"{digest}{ext}"
        facts = inspect(data) if photo else None
        if facts is not None and facts.problem is not None:  # refused: nothing on disk for it
            return StoredFile(path=str(rel), sha256=digest, size=len(data), mime=mime, facts=facts)
        self.put(rel, data)
        return StoredFile(path=str(rel), sha256=digest, size=len(data), mime=mime, facts=facts)

    def put(self, rel: str | Path, data: bytes) -> None:
        """Write ``data`` at ``rel`` unless it is there already (atomically: a reader, or a crash,
        never leaves half a file)."""
        target = self.root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)  # atomic: a reader never sees half a photo

    async def save(self, data: bytes) -> StoredFile:
        """Store a file the bot made itself (a PDF, a chart, a QR code), off the event loop."""
        return await asyncio.to_thread(self._write, data, photo=False)

    async def save_photo(self, data: bytes) -> StoredFile:
        """Store a photo a person sent, once :func:`handlers.photo_check.inspect` accepts it (its
        ``facts`` say why not, and then nothing is written), off the event loop."""
        return await asyncio.to_thread(self._write, data, photo=True)

    def absolute(self, rel: str) -> Path:
        return self.root / rel
