"""The outbox sender's last step before a message with check-in photos goes out: each photo that
carries a stamp spec (:func:`handlers.evidence.record_checkin`) is replaced by its stamped copy
(:mod:`handlers.stamp`), drawn in the message's language.

Here, after the commit and outside any transaction, because drawing is CPU work the update's
transaction must not wait for.  The copy is cached in the media store by its spec, so a retry, a
restart after a crash, or a second recipient costs a file read; the first copy is noted on its
attachment (``stamped_path``/``stamped_sha256``) in one small UPDATE of its own.  Anything that
goes wrong here (the original missing, a broken file) sends the original photo instead of
nothing: the evidence still reaches the supervisor.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from handlers.channel import Outbound
from handlers.stamp import StampSpec, for_reader, stamped_copy
from models.checkins import record_stamped

log = logging.getLogger(__name__)

_EXTRA = ("stamp", "attachment_id")


def _plain(photo: dict) -> dict:
    return {k: v for k, v in photo.items() if k not in _EXTRA}


async def with_stamped_photos(app, media_root: Path | None, payload: Outbound) -> Outbound:
    """``payload`` with each stamped photo as its stamped copy (made if missing)."""
    if not any("stamp" in photo for photo in payload.photos):
        return payload
    photos = []
    for photo in payload.photos:
        if "stamp" not in photo or media_root is None:
            photos.append(_plain(photo))
            continue
        try:
            spec = for_reader(StampSpec.from_payload(photo["stamp"]), payload.lang)
            stamped = await stamped_copy(media_root, spec)
        except Exception as exc:  # noqa: BLE001 (the original goes out instead)
            log.warning("stamped copy of %s not made, sending the original: %s: %s",
                        photo.get("path"), type(exc).__name__, exc)
            photos.append(_plain(photo))
            continue
        if photo.get("attachment_id"):
            try:
                async with app.db.write() as session:
                    await record_stamped(session, int(photo["attachment_id"]), stamped.path, stamped.sha256)
            except Exception as exc:  # noqa: BLE001 (noted next time; the copy is on disk)
                log.warning("could not note the stamped copy of attachment %s: %s", photo["attachment_id"], exc)
        photos.append({"file_ref": None, "channel": photo.get("channel"), "path": stamped.path})
    return replace(payload, photos=photos)
