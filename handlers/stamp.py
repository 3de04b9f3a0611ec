"""The stamped copy of a check-in photo: the ticket number, the server's time and the phone's, and
the place (coordinates, distance to the site) drawn onto the image, so what the supervisor sees
carries what the *server* vouches for, not only what the phone said.  The photo as received stays
untouched (content-addressed, :mod:`handlers.media`) for audit.

Why a pure function made after the commit, not in the handler: drawing and encoding an image
takes tens of milliseconds of CPU, and nothing CPU-heavy may run while the update's database
transaction is open (the single SQLite writer would wait on it).  Everything the stamp shows is
already stored — the original (by sha256), the ticket number, the check-in's times and place — so a
:class:`StampSpec` names it completely, and :func:`render` turns spec + original bytes into the
same JPEG every time.  The copy is cached in the media store under ``stamped/`` by the spec's hash
(:meth:`StampSpec.key`); whoever needs it first makes it — the outbox sender just before it sends
the supervisor's photo (:mod:`bot.outbox_stamp` via :func:`stamped_copy`), or the service-report PDF —
and a copy lost to a crash (or never made) is simply made again, identically (byte for byte with
the same Pillow, FreeType and libjpeg; another build of them may encode other bytes of the same
picture, which is why the audit trail is the original's sha256, and ``stamped_sha256`` only says
which copy the supervisor was sent).

Language: the recipient's (the sender renders in the language the message is in); the times in
the team's zone.  Chinese runs of text are drawn with Droid Sans Fallback, the rest with DejaVu
Sans (:mod:`handlers.fonts`): neither font has the other's glyphs.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


from handlers.evidence_text import distance_text
from handlers.fonts import CJK_FONT, latin_font
from handlers.i18n import t
from handlers.photo_check import FORMATS, MAX_PIXELS

#: Bump when the drawing changes: every spec then names a new copy (old ones stay valid files).
STAMP_VERSION = 2  # 2: lines never cut on a narrow photo
#: The stamped copy's longest side: enough to read a nameplate, small enough for any chat app.
MAX_SIDE = 2560
QUALITY = 85
#: The smallest text drawn (px): below it a stamp is not read, so the band grows wider instead.
MIN_TEXT = 12


@dataclass(frozen=True)
class StampSpec:
    """Everything a stamped copy shows, as stored: a pure function's input.

    ``original``/``sha256``: the received photo in the media store; ``server_at``/``client_at``:
    ISO times (UTC); ``distance_m``: to the site (None: the site's place unknown); ``tz``: the
    team's zone name; ``lang``: the reader's language."""

    original: str
    sha256: str
    ticket: str
    server_at: str
    client_at: str | None = None
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = None
    off_site: bool = False
    live: bool = False
    tz: str = "UTC"
    lang: str = "en"

    def key(self) -> str:
        """The spec's hash: where its copy is cached (changes with anything drawn)."""
        data = json.dumps({"v": STAMP_VERSION, **asdict(self)}, sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(data.encode()).hexdigest()

    def path(self) -> str:
        key = self.key()
        return f"stamped/{key[:2]}/{key}.jpg"

    def to_payload(self) -> dict:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict) -> StampSpec:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Stamped:
    path: str  # relative to the media directory
    sha256: str


def _local(value: str, tz: ZoneInfo) -> str:
    moment = datetime.fromisoformat(value).astimezone(tz)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def lines(spec: StampSpec) -> list[str]:
    """The stamp's text, one string a line, in ``spec.lang``."""
    lang, tz = spec.lang, ZoneInfo(spec.tz)
    out = [t(lang, "evidence.stamp_ticket", number=spec.ticket),
           t(lang, "evidence.stamp_server", time=_local(spec.server_at, tz))]
    if spec.client_at:
        out.append(t(lang, "evidence.stamp_phone", time=_local(spec.client_at, tz)))
    if spec.lat is not None and spec.lon is not None:
        place = t(lang, "evidence.stamp_place_live" if spec.live else "evidence.stamp_place",
                  lat=f"{spec.lat:.5f}", lon=f"{spec.lon:.5f}")
        if spec.distance_m is not None:
            key = "evidence.stamp_off_site" if spec.off_site else "evidence.stamp_distance"
            place = t(lang, key, place=place, distance=distance_text(lang, spec.distance_m))
        out.append(place)
    return out


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def runs(text: str) -> list[tuple[bool, str]]:
    """``text`` cut where the script changes: (cjk, piece) pairs, each drawn with its own font."""
    out: list[tuple[bool, str]] = []
    for ch in text:
        cjk = _is_cjk(ch)
        if out and out[-1][0] == cjk:
            out[-1] = (cjk, out[-1][1] + ch)
        else:
            out.append((cjk, ch))
    return out


def _width(line: str, latin: Any, cjk: Any) -> int:  # noqa: ANN401
    """How wide ``line`` is drawn, each run in its own font."""
    return sum(round((cjk if is_cjk else latin).getlength(piece)) for is_cjk, piece in runs(line))


@lru_cache(maxsize=16)
def _fonts(size: int) -> tuple[object, object]:
    from PIL import ImageFont

    return ImageFont.truetype(str(latin_font()), size), ImageFont.truetype(str(CJK_FONT), size)


def render(spec: StampSpec, original: bytes) -> bytes:
    """The stamped copy as JPEG bytes: a pure function of ``spec`` and ``original`` (same input,
    same bytes).  Refuses an original that is not the one the spec names."""
    if hashlib.sha256(original).hexdigest() != spec.sha256:
        raise ValueError("the original does not match its recorded sha256")
    from PIL import Image, ImageDraw, ImageOps  # here, not at import: the running bot loads Pillow only to draw

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with Image.open(io.BytesIO(original), formats=FORMATS) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    text = lines(spec)
    size = max(MIN_TEXT, image.width // 36)
    latin, cjk = _fonts(size)
    widest = max(_width(line, latin, cjk) for line in text)
    if widest > image.width - size and size > MIN_TEXT:  # a narrow photo: smaller text, down to MIN_TEXT
        size = max(MIN_TEXT, int(size * (image.width - size) / widest))
        latin, cjk = _fonts(size)
        widest = max(_width(line, latin, cjk) for line in text)
    pad, step = size // 2, round(size * 1.35)
    band = pad * 2 + step * len(text)
    # Never cut a line: a photo too narrow even for MIN_TEXT gets a wider band than itself.
    canvas = Image.new("RGB", (max(image.width, widest + 2 * pad), image.height + band), (20, 20, 20))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = image.height + pad
    colour = {True: (255, 200, 60), False: (255, 255, 255)}
    for number, line in enumerate(text):
        x = pad
        flagged = spec.off_site and number == len(text) - 1
        for is_cjk, piece in runs(line):
            font = cjk if is_cjk else latin
            draw.text((x, y), piece, font=font, fill=colour[flagged])
            x += round(draw.textlength(piece, font=font))
        y += step
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=QUALITY, optimize=False, progressive=False)
    return out.getvalue()


def make(media_root: Path, spec: StampSpec) -> Stamped:
    """The stamped copy for ``spec``, made unless the media store has it (blocking: run it in a
    thread).  Written atomically, so a crash leaves either no copy or a whole one."""
    from handlers.media import MediaStore

    store = MediaStore(media_root)
    rel = spec.path()
    target = store.absolute(rel)
    if target.exists():
        data = target.read_bytes()
    else:
        data = render(spec, store.absolute(spec.original).read_bytes())
        store.put(rel, data)
    return Stamped(path=rel, sha256=hashlib.sha256(data).hexdigest())


async def stamped_copy(media_root: Path, spec: StampSpec) -> Stamped:
    """:func:`make` off the event loop: what the outbox sender and the PDF renderer call."""
    return await asyncio.to_thread(make, Path(media_root), spec)


def for_reader(spec: StampSpec, lang: str | None) -> StampSpec:
    """The same stamp in the reader's language."""
    return replace(spec, lang=lang) if lang else spec


def spec_for(attachment: object, checkin: object, ticket_number: str, *, tz: str, lang: str) -> StampSpec | None:
    """The spec of an attachment of a check-in (:class:`models.work.Attachment` and
    :class:`models.work.Checkin` rows); None for an attachment without a stored original."""
    path, sha = getattr(attachment, "path", None), getattr(attachment, "sha256", None)
    if not path or not sha:
        return None
    client_at = getattr(checkin, "client_at", None)
    return StampSpec(
        original=path, sha256=sha, ticket=ticket_number, server_at=_iso(checkin.server_at),
        client_at=_iso(client_at) if client_at else None, lat=checkin.lat, lon=checkin.lon,
        distance_m=checkin.distance_m, off_site=bool(checkin.off_site),
        live=checkin.location_source == "live", tz=tz, lang=lang)


def _iso(moment: datetime) -> str:
    """UTC ISO, whatever the driver handed back (a naive value from SQLite is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


async def stamped_for(media_root: Path, attachment: object, checkin: object, ticket_number: str, *, tz: str,
                      lang: str) -> Stamped | None:
    """The stamped copy of a check-in's attachment in ``lang`` (made if missing); None for an
    attachment without a stored original.  For the service-report PDF: the same file the
    supervisor got when ``lang`` and ``tz`` are theirs."""
    spec = spec_for(attachment, checkin, ticket_number, tz=tz, lang=lang)
    return await stamped_copy(media_root, spec) if spec is not None else None
