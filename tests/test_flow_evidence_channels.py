"""Evidence (issue 15) on every channel — Telegram on aiogram and PTB, and WeCom: a decompression
bomb sent as the arrival photo is refused with nothing stored; a camera photo keeps its EXIF
(WeCom hands images over as sent) and the supervisor gets the stamped copy, flagged off site."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from models.customers import Site
from models.enums import TicketStatus
from models.tickets import Ticket
from models.work import Attachment, Checkin
from tests.support.cast import ENG, SUP, team
from tests.support.chat import card_of
from tests.support.images import bomb_png, camera_jpeg
from tests.support.tickets import ticket
from tests.support.world import World

SHANGHAI = (31.23041, 121.47370)
SUZHOU = (31.29890, 120.58530)  # about 85 km west


async def test_a_bomb_is_refused_and_a_camera_photo_stamped(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        async with w.app.db.write() as s:
            row = await s.get(Ticket, t.id)
            await s.execute(update(Site).where(Site.id == row.site_id).values(lat=SHANGHAI[0], lon=SHANGHAI[1]))
        w.press(ENG, await card_of(w, ENG, t), "Arrived")
        await w.expect(ENG)
        w.driver.send_photo(ENG, bomb_png())
        [refused] = await w.expect(ENG)
        assert refused.text == "That image is too large to keep (64 megapixels at most). Please send a smaller photo."
        media = w.app.config.storage.media_dir
        assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]

        taken = (w.clock.now() - timedelta(minutes=20)).astimezone(w.app.tz).replace(tzinfo=None)
        original = camera_jpeg(lat=SUZHOU[0], lon=SUZHOU[1], taken=taken)  # no offset: the team's local time
        w.driver.send_photo(ENG, original)
        await w.expect(ENG)
        w.send_location(ENG, *SUZHOU)
        await w.expect(ENG, 2)
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Checkin)) == 1
            checkin = await s.scalar(select(Checkin))
            photo = await s.scalar(select(Attachment))
        assert checkin.off_site and 80_000 < checkin.distance_m < 90_000
        assert photo.sha256 == hashlib.sha256(original).hexdigest() and photo.exif_lat is not None
        assert abs(photo.exif_taken_at - (w.clock.now() - timedelta(minutes=20))) < timedelta(seconds=2)

        pic, text = await w.expect(SUP, 2)
        assert pic.photo and "⚠ Off site: 85 km from the site." in text.text.splitlines()
        async with w.app.db.read() as s:
            photo = await s.scalar(select(Attachment))
        stamped = (media / photo.stamped_path).read_bytes()
        assert w.photo_bytes(pic) == stamped and hashlib.sha256(stamped).hexdigest() == photo.stamped_sha256
