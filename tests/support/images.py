"""Images for the evidence tests, made with Pillow: a phone photo sent as a file (a JPEG with EXIF
capture time and GPS), a decompression bomb, a truncated JPEG and a JPEG whose EXIF is hostile."""

from __future__ import annotations

import io
from datetime import datetime
from functools import lru_cache

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

_GPS, _EXIF = 0x8825, 0x8769


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)


def camera_jpeg(*, lat: float | None = None, lon: float | None = None, taken: datetime | None = None,
                offset: str | None = None, seed: int = 0, size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG as a phone camera writes it: EXIF DateTimeOriginal (+ OffsetTimeOriginal) and GPS."""
    image = Image.new("RGB", size, (40 + seed % 200, 90, 140))
    exif = Image.Exif()
    if taken is not None:
        exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")
        detail = {0x9003: taken.strftime("%Y:%m:%d %H:%M:%S")}
        if offset:
            detail[0x9011] = offset
        exif[_EXIF] = detail
    if lat is not None and lon is not None:
        exif[_GPS] = {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=80)
    return out.getvalue()


def hostile_exif_jpeg() -> bytes:
    """A JPEG whose EXIF lies absurdly: latitude 200°, minutes 9999, a longitude over zero, a 20 kB
    date, a 30 kB description, an offset of +99:99."""
    image = Image.new("RGB", (64, 48), (10, 10, 10))
    exif = Image.Exif()
    exif[0x010E] = "A" * 30_000  # ImageDescription, enormous
    exif[_EXIF] = {0x9003: "9" * 20_000, 0x9011: "+99:99"}
    exif[_GPS] = {1: "Q", 2: (200.0, 9999.0, 1.0), 3: "E", 4: (IFDRational(1, 0), 0.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def malformed_exif_jpeg() -> bytes:
    """A JPEG whose EXIF block is garbage after a valid TIFF header (IFD offsets pointing nowhere)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(
        out, "JPEG", exif=b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\xff\x7f" * 400)
    return out.getvalue()


@lru_cache(maxsize=1)
def bomb_png() -> bytes:
    """30,000 × 30,000 pixels (900 MP) in about 100 kB: a decompression bomb."""
    out = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(out, "PNG")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    """A JPEG cut off half-way: its header reads, its pixels do not."""
    data = camera_jpeg(size=(640, 480))
    return data[: len(data) // 2]


#: The images above by the names the bad-input corpus uses (tests/fault/corpus.py ``IMAGES``).
BY_NAME = {"bomb": bomb_png, "truncated": truncated_jpeg, "hostile_exif": hostile_exif_jpeg,
           "malformed_exif": malformed_exif_jpeg}
