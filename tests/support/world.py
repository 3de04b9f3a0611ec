"""The end-to-end test world: :class:`bot.stage.Stage` (emulator + real bot + real database) that
also fails the test if the bot sent any request that does not match the Bot API spec.

    async with World(tmp_path) as w:
        sup = await w.join(100, Role.SUPERVISOR, "Wang")
        w.say(100, "/help")
        [reply] = await w.expect(100)

The bot runs on aiogram unless told otherwise: ``World(tmp_path, runtime="ptb")`` runs the same
world on python-telegram-bot.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bot.app import FixedClock
from bot.stage import RUNTIMES, TOKEN, Stage, button_data, button_labels, png

__all__ = ["RUNTIMES", "T0", "TOKEN", "World", "button_data", "button_labels", "png", "world"]

#: 10:30 in Shanghai (the default team time zone) on Monday 2 March 2026, so message times are exact.
T0 = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)


class World(Stage):
    def address(self, uid: int) -> str:
        """The person's user id on the channel (``ChannelIdentity.external_user_id``)."""
        return str(uid)

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        problems = self.emu.spec_mismatches()
        assert problems == [], f"requests that do not match the Bot API spec: {problems}"


def world(tmp_path: Path, language: str = "en") -> World:
    """A world whose clock stands still at :data:`T0`."""
    return World(tmp_path, language=language, clock=FixedClock(T0))
