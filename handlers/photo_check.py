"""What a received photo is, read once where it is downloaded (off the event loop, before any
database transaction — :meth:`handlers.media.MediaStore.save` calls :func:`inspect` in its
thread): whether it is an image Fieldbot will keep at all, and what its EXIF says about where and
when it was taken.

Refused (:attr:`PhotoFacts.problem`, the flow answers with ``error.<problem>`` and stores
nothing): bytes that are not a JPEG, PNG or WebP image, an image larger than :data:`MAX_PIXELS`
(a decompression bomb: a few kilobytes that decode to gigabytes — the header is read, the pixels
are never decoded), and an image whose pixels cannot be decoded.

EXIF is evidence only when it makes sense; anything hostile — a malformed block, a GPS value off
the Earth, a zero denominator, a tag thousands of characters long — is ignored (the photo itself
is still good evidence), never an exception.  Compressed Telegram photos carry no EXIF; a photo
sent as a file (uncompressed) keeps it.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any


#: The largest image accepted, in pixels (width × height): 64 MP is more than any phone camera's
#: default and about 200 MB decoded.  Set on Pillow explicitly too (its own guard is per process).
MAX_PIXELS = 64_000_000
FORMATS = ("JPEG", "PNG", "WEBP")
#: Longest EXIF text value read (a date is 19 characters, an offset 6); longer is hostile.
_MAX_TEXT = 64
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATE_ORIGINAL, _OFFSET_ORIGINAL, _DATE_TIME = 0x9003, 0x9011, 0x0132
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class PhotoFacts:
    """What :func:`inspect` found.  ``taken_at`` is aware when the camera wrote its offset
    (OffsetTimeOriginal), naive (the camera's local time, read in the team's zone) otherwise."""

    problem: str | None = None
    width: int = 0
    height: int = 0
    exif_lat: float | None = None
    exif_lon: float | None = None
    taken_at: datetime | None = None


def inspect(data: bytes) -> PhotoFacts:
    """Check ``data`` is an image worth keeping and read its EXIF (see the module doc)."""
    from PIL import Image, UnidentifiedImageError  # here: the running bot loads Pillow with the first photo

    # Explicit, whatever another library set: Pillow refuses past twice this on open (and only
    # warns between), so the size is checked here too, before a single pixel is decoded.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
                return PhotoFacts(problem="image_too_large")
            lat, lon, taken = _exif(image)
            if image.format == "JPEG":  # every coefficient is still read, at an eighth of the work
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()  # the pixels decode (bounded by MAX_PIXELS): not a truncated file
    except Image.DecompressionBombError:
        return PhotoFacts(problem="image_too_large")
    except UnidentifiedImageError:
        return PhotoFacts(problem="not_an_image")
    except Exception:  # noqa: BLE001 (truncated, corrupt, or a decoder refusing it: no evidence)
        return PhotoFacts(problem="image_broken")
    return PhotoFacts(width=width, height=height, exif_lat=lat, exif_lon=lon, taken_at=taken)


def _exif(image: Any) -> tuple[float | None, float | None, datetime | None]:
    try:
        exif = image.getexif()
    except Exception:  # noqa: BLE001
        return None, None, None
    lat = lon = None
    try:
        gps = exif.get_ifd(_GPS_IFD)
        lat = _coordinate(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "NS", 90.0)
        lon = _coordinate(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "EW", 180.0)
        if lat is None or lon is None or (lat == 0.0 and lon == 0.0):  # (0,0): a camera without a fix
            lat = lon = None
    except Exception:  # noqa: BLE001
        lat = lon = None
    try:
        detail = exif.get_ifd(_EXIF_IFD)
        taken = _capture_time(detail.get(_DATE_ORIGINAL) or exif.get(_DATE_TIME), detail.get(_OFFSET_ORIGINAL))
    except Exception:  # noqa: BLE001
        taken = None
    return lat, lon, taken


def _number(value: Any) -> float:  # an EXIF rational, as Pillow gives it
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _coordinate(dms: Any, ref: Any, refs: str, limit: float) -> float | None:
    """Degrees, minutes, seconds and N/S or E/W as decimal degrees; None unless all are sane."""
    if not isinstance(dms, tuple) or len(dms) != 3 or not isinstance(ref, str) or ref.strip()[:1] not in refs:
        return None
    degrees, minutes, seconds = (_number(v) for v in dms)
    if not (0 <= degrees <= limit and 0 <= minutes < 60 and 0 <= seconds < 60):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if value > limit:
        return None
    return -value if ref.strip()[:1] == refs[1] else value


def _capture_time(raw: Any, offset: Any) -> datetime | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` (+ ``±HH:MM``) as a datetime; None for anything else."""
    if not isinstance(raw, str) or len(raw) > _MAX_TEXT:
        return None
    try:
        moment = datetime.strptime(raw.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if not 1990 <= moment.year <= 2200:
        return None
    if isinstance(offset, str) and len(offset) <= _MAX_TEXT:
        m = _OFFSET.match(offset.strip().rstrip("\x00"))
        if m and int(m.group(2)) <= 14 and int(m.group(3)) < 60:
            sign = -1 if m.group(1) == "-" else 1
            zone = timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
            return moment.replace(tzinfo=zone)
    return moment
