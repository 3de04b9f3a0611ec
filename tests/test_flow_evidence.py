"""Evidence a supervisor can trust (issue 15), end to end through the real aiogram and
python-telegram-bot clients against the Bot API emulator: a live location far from the site with a
photo sent as a file (its EXIF kept and compared), the supervisor's stamped copy (noted on the
attachment, the original kept), the timeline and the monthly report; a forwarded location
refused; photos that are not usable images refused with nothing stored."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from handlers.stamp import make, spec_for
from handlers.timeline import timeline_lines
from models.customers import Site
from models.enums import CheckinKind, TicketStatus
from models.reports import off_site_arrivals
from models.tickets import Ticket
from models.work import Attachment, Checkin
from tests.support.cast import ENG, SUP, team
from tests.support.chat import card_of
from tests.support.images import (
    bomb_png,
    camera_jpeg,
    hostile_exif_jpeg,
    truncated_jpeg,
)
from tests.support.tickets import T, events, ticket
from tests.support.world import World

pytestmark = pytest.mark.telegram  # live and forwarded locations, photos as files: Telegram's

SHANGHAI = (31.23041, 121.47370)
BEIJING = (39.90420, 116.40740)


async def _site_at(w: World, t: T, place: tuple[float, float] | None) -> None:
    async with w.app.db.write() as s:
        row = await s.get(Ticket, t.id)
        await s.execute(update(Site).where(Site.id == row.site_id).values(lat=place[0] if place else None,
                                                                           lon=place[1] if place else None))


async def _arrive_step(w: World, t: T, label: str = "Arrived") -> None:
    w.press(ENG, await card_of(w, ENG, t), label)
    await w.expect(ENG)


def _send_file(w: World, data: bytes, name: str = "IMG_0001.JPG", mime: str = "image/jpeg") -> None:
    w.tg.injected += 1
    w.tg.emu.send_document(ENG, data, name, mime_type=mime)


async def _rows(w: World, model: type) -> list:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(model).order_by(model.id))).all())


# Also on PostgreSQL (``db_url``): the new columns, the report's query and the stamped copy's UPDATE.
async def test_live_arrival_off_site_with_a_photo_as_file(tmp_path: Path, channel: str, db_url: str) -> None:
    async with World(tmp_path, channel, db_url=db_url) as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        await _site_at(w, t, SHANGHAI)
        await _arrive_step(w, t)
        taken = w.clock.now() - timedelta(days=1)  # an old photo: a day before the arrival
        original = camera_jpeg(lat=BEIJING[0], lon=BEIJING[1], taken=taken.astimezone(w.app.tz).replace(tzinfo=None),
                               offset="+08:00")
        _send_file(w, original)
        [ask] = await w.expect(ENG)
        assert ask.text == "Got the photo. Now send your location."
        w.send_location(ENG, *BEIJING, live_period=900)
        done, _card = await w.expect(ENG, 2)
        assert done.text == f"Arrival at {t.number} recorded and sent to your supervisor."

        [checkin] = await _rows(w, Checkin)
        assert checkin.location_source == "live" and checkin.off_site and not checkin.site_located
        assert 1_060_000 < checkin.distance_m < 1_075_000
        [photo] = await _rows(w, Attachment)
        assert photo.as_file and photo.sha256 == hashlib.sha256(original).hexdigest()
        assert photo.exif_lat == pytest.approx(BEIJING[0], abs=1e-5)
        assert photo.exif_taken_at == taken.replace(microsecond=0)

        pic, text = await w.expect(SUP, 2)
        assert pic.photo
        assert text.text.splitlines()[3:] == [
            "Live location, shared from the phone.", "⚠ Off site: 1,067 km from the site.",
            (f"⚠ The photo was taken at {taken.astimezone(w.app.tz):%Y-%m-%d %H:%M} (by its EXIF), "
             "well before the check-in."), "Photos: 1"]
        # The supervisor sees the stamped copy; the original stays as received, for audit.
        seen = w.photo_bytes(pic)
        [photo] = await _rows(w, Attachment)
        media = w.app.config.storage.media_dir
        assert photo.stamped_path and photo.stamped_path.startswith("stamped/")
        stamped = (media / photo.stamped_path).read_bytes()
        assert seen == stamped and hashlib.sha256(stamped).hexdigest() == photo.stamped_sha256
        assert (media / photo.path).read_bytes() == original
        # A pure function of stored data: lost, it is made again, byte for byte (the PDF's way in).
        (media / photo.stamped_path).unlink()
        spec = spec_for(photo, checkin, t.number, tz=w.app.tz.key, lang="en")
        assert make(media, spec).sha256 == photo.stamped_sha256

        lines = timeline_lines("en", await events(w, t), w.app.tz, {})
        [arrival] = [line for line in lines if "checked in on arrival" in line]
        assert arrival.endswith(" checked in on arrival with 1 photo, off site: 1,067 km from the site (live location)"
                                f"; the photo was taken at {taken.astimezone(w.app.tz):%Y-%m-%d %H:%M}")
        start, end = w.clock.now() - timedelta(days=1), w.clock.now() + timedelta(days=1)
        async with w.app.db.read() as s:
            assert await off_site_arrivals(s, start, end, None) == [("Li Lei", 1)]


async def test_forwarded_location_is_refused_and_a_pin_near_the_site_accepted(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        await _site_at(w, t, SHANGHAI)
        await _arrive_step(w, t, "已到达")
        w.send_photo(ENG, seed=3)
        await w.expect(ENG)
        w.send_location(ENG, *SHANGHAI, forwarded_from=4242)
        [refused] = await w.expect(ENG)
        assert refused.text == "转发的位置不能说明您现在在哪里，没有采用。请发送您自己当前的位置。"
        assert await _rows(w, Checkin) == []
        w.send_location(ENG, 0.0, 0.0)  # a phone without a fix
        [refused] = await w.expect(ENG)
        assert refused.text == "这个位置不正确，请重新发送您当前的位置。"
        assert await _rows(w, Checkin) == []
        w.send_location(ENG, 31.23141, 121.47370)  # about 111 m north of the site
        await w.expect(ENG, 2)
        [checkin] = await _rows(w, Checkin)
        assert checkin.location_source == "pin" and not checkin.off_site and round(checkin.distance_m) == 111
        _pic, text = await w.expect(SUP, 2)
        assert "距现场 111 米。" in text.text.splitlines()


async def test_a_site_without_coordinates_takes_the_first_arrivals(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        await _arrive_step(w, t)
        w.send_photo(ENG, seed=4)
        await w.expect(ENG)
        w.send_location(ENG, *BEIJING)
        await w.expect(ENG, 2)
        [checkin] = await _rows(w, Checkin)
        assert checkin.site_located and checkin.distance_m is None and not checkin.off_site
        _pic, text = await w.expect(SUP, 2)
        assert "The site had no location on record: it takes this one from now on." in text.text.splitlines()
        lines = timeline_lines("en", await events(w, t), w.app.tz, {})
        assert any(line.endswith("with 1 photo, which gave the site its location") for line in lines)


@pytest.mark.parametrize(("data", "reply"), [
    (b"\x00" * 512, "That file isn't a photo. Please send a photo (JPEG, PNG or WebP)."),
    (bomb_png(), "That image is too large to keep (64 megapixels at most). Please send a smaller photo."),
    (truncated_jpeg(), "That photo is damaged and can't be opened. Please take it again and send it."),
], ids=["not_an_image", "decompression_bomb", "truncated"])
async def test_unusable_photos_are_refused_and_nothing_is_stored(tmp_path: Path, channel: str, data: bytes,
                                                                 reply: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        await _arrive_step(w, t)
        _send_file(w, data, "site.jpg")
        [answer] = await w.expect(ENG)
        assert answer.text == reply
        media = w.app.config.storage.media_dir
        assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
        # The dialog still waits for the photo: a good one (with hostile EXIF, ignored) goes on.
        _send_file(w, hostile_exif_jpeg(), "odd.jpg")
        [ask] = await w.expect(ENG)
        assert ask.text == "Got the photo. Now send your location."
        w.send_location(ENG, *SHANGHAI)
        await w.expect(ENG, 2)
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Checkin)) == 1
            photo = await s.scalar(select(Attachment))
        assert photo.as_file and photo.exif_lat is None and photo.exif_taken_at is None


async def test_late_evidence_keeps_both_times_and_says_so(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        w.press(ENG, await card_of(w, ENG, t), "Check in")
        await w.expect(ENG)
        sent = w.clock.now() - timedelta(hours=2)  # written on the phone two hours ago, offline since
        w.send_photo(ENG, seed=9, sent_at=sent)
        [got] = await w.expect(ENG)
        w.press(ENG, got, "Done")
        await w.expect(ENG)
        [checkin] = await _rows(w, Checkin)
        assert checkin.kind is CheckinKind.PROGRESS
        assert checkin.client_at == sent.replace(microsecond=0) and checkin.server_at - checkin.client_at > timedelta(hours=1)
        _pic, text = await w.expect(SUP, 2)
        local = f"{sent.astimezone(w.app.tz):%Y-%m-%d %H:%M}"
        assert (f"Sent while offline: the phone's time {local}, reached the server at "
                f"{checkin.server_at.astimezone(w.app.tz):%Y-%m-%d %H:%M}.") in text.text.splitlines()
        lines = timeline_lines("en", await events(w, t), w.app.tz, {})
        assert any(line.endswith(f"; sent from the phone at {local}") for line in lines)
