"""A stage for playing people against the real bot: the Bot API emulator, the bot (polling or
webhook through its real HTTP client, on either Telegram runtime: aiogram or python-telegram-bot)
on a real database, and helpers to act as the people in the chats and to wait until the bot has
answered.

Used by ``fieldbot demo`` and, through ``tests/world.py``, by the end-to-end tests.

    async with Stage(tmp_path) as s:           # Stage(tmp_path, runtime="ptb"): the bot on PTB
        await s.join(100, Role.SUPERVISOR, "Wang")
        s.say(100, "/help")
        [reply] = await s.expect(100)
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import App, Clock, build_app
from bot.config import Config, parse_config
from bot.emulator import BotApiEmulator
from bot.runtime import Runtime, build_runtime, close, serve
from models.enums import Role
from models.invites import create_invite, team_by_name
from models.migrate import upgrade

TOKEN = "123456:TESTTOKEN"
#: The emulated bot's @username, set in the stage's config too (as getMe would give it).
BOT_USERNAME = "FieldbotDemoBot"
#: The Telegram runtimes a stage can run the bot on (``telegram.runtime``).
RUNTIMES = ("aiogram", "ptb")
#: By default the stage works round the clock, so no push waits for quiet hours to end
#: (a test of quiet hours sets its own ``[bot.working_hours]``).
ALL_DAY = "[bot.working_hours]\n" + "".join(f'{d} = "00:00-24:00"\n' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def png(seed: int = 0) -> bytes:
    """A small valid PNG (distinct per seed), standing in for a phone photo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([(seed + x) % 256, 0, 0]) for x in range(4) for _ in range(1))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Stage:
    def __init__(self, tmp_path: Path, *, db_url: str | None = None, language: str = "en",
                 extra_config: str = "", telegram_extra: str = "", database_extra: str = "",
                 clock: Clock | None = None, runtime: str = "aiogram"):
        """``runtime``: the Telegram SDK the bot runs on, one of :data:`RUNTIMES`."""
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}")
        self.tmp_path = tmp_path
        self.runtime = runtime
        self.db_url = db_url or f"sqlite+aiosqlite:///{tmp_path / 'world.db'}"
        self.language = language
        self.extra_config = extra_config
        self.telegram_extra = telegram_extra
        self.database_extra = database_extra
        self.clock = clock or Clock()
        self.emu = BotApiEmulator(TOKEN, bot_username=BOT_USERNAME)
        self.seen: dict[int, int] = {}
        self.injected = 0
        self._handled_before = 0  # by runtimes that were stopped (restarts)
        self.rt: Runtime | None = None
        self.app: App
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Stage:
        await self.emu.start()
        try:
            config = self._config()
        except BaseException:  # e.g. runtime = "ptb" without python-telegram-bot installed
            await self.emu.stop()
            raise
        self.app = build_app(config, self.clock)
        await upgrade(self.app.db)
        await self.start_bot()
        return self

    def _config(self) -> Config:
        return parse_config(
            f'[bot]\nlanguage = "{self.language}"\n[database]\nurl = "{self.db_url}"\n{self.database_extra}'
            f'[telegram]\ntoken = "{TOKEN}"\nruntime = "{self.runtime}"\napi_base = "{self.emu.base_url}"\n'
            f'bot_username = "{BOT_USERNAME}"\nchat_interval = "0s"\n'
            + self.telegram_extra + f'[storage]\nmedia_dir = "{self.tmp_path / "media"}"\n' + self.extra_config
            + ("" if "[bot.working_hours]" in self.extra_config else ALL_DAY),
            environ={},
        )

    async def start_bot(self) -> None:
        if getattr(self, "rt", None) is not None:  # a restart: keep counting what the old one handled
            self._handled_before += self.rt.core.handled
        self.rt = build_runtime(self.app)
        if self.app.config.telegram.mode == "webhook":
            self._task = asyncio.create_task(serve(self.rt))
            await self.emu.wait_until(lambda: (self.emu.webhook() or {}).get("url"), what="webhook set")
        else:
            self._task = asyncio.create_task(serve(self.rt))

    async def stop_bot(self) -> None:
        """Stop the bot as a crash would: polling and the sender just end."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            await close(self.rt)
            self._task = None

    @property
    def handled(self) -> int:
        return self._handled_before + self.rt.core.handled

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_bot()
        await self.app.close()
        await self.emu.stop()

    # -- setting up people and tickets -----------------------------------------------------
    async def invite(self, role: Role, name: str, team: str | None = "North") -> str:
        now = self.clock.now()
        async with self.app.db.write() as session:
            team_row = await team_by_name(session, team, create=True) if team else None
            return await create_invite(session, role=role, name=name, now=now, ttl=timedelta(days=1),
                                       team_id=team_row.id if team_row else None)

    async def join(self, uid: int, role: Role, name: str, *, team: str | None = "North",
                   lang: str | None = None) -> int:
        token = await self.invite(role, name, team)
        self.say(uid, f"/start {token}", first_name=name, language_code=lang or self.language)
        await self.settle()
        self.seen[uid] = len(self.emu.bot_messages(uid))
        return uid

    # -- acting ----------------------------------------------------------------------------
    def say(self, uid: int, text: str, **kw: Any) -> dict:
        self.injected += 1
        return self.emu.send_text(uid, text, **kw)

    def photo(self, uid: int, seed: int = 0, **kw: Any) -> dict:
        self.injected += 1
        return self.emu.send_photo(uid, png(seed), **kw)

    def location(self, uid: int, lat: float, lon: float, **kw: Any) -> dict:
        self.injected += 1
        return self.emu.send_location(uid, lat, lon, **kw)

    def press(self, uid: int, message: dict, label: str, **kw: Any) -> str:
        """Press the inline button labelled ``label`` under ``message``."""
        data = button_data(message, label)
        self.injected += 1
        return self.emu.press_button(uid, message["message_id"], data, **kw)

    def press_data(self, uid: int, message_id: int, data: str, **kw: Any) -> str:
        self.injected += 1
        return self.emu.press_button(uid, message_id, data, strict=False, **kw)

    # -- observing -------------------------------------------------------------------------
    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every injected update is handled and every due message delivered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.handled < self.injected:
            if loop.time() > deadline:
                raise TimeoutError(f"handled {self.handled} of {self.injected} updates")
            await asyncio.sleep(0.01)
        await self.rt.sender.drain(timeout=max(0.1, deadline - loop.time()))

    async def expect(self, uid: int, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """The next ``count`` bot messages in ``uid``'s chat (waits for them)."""
        start = self.seen.get(uid, 0)
        messages = await self.emu.wait_for_messages(uid, start + count, timeout=timeout)
        self.seen[uid] = start + count
        return messages[start:start + count]

    async def quiet(self, uid: int) -> list[dict]:
        """Settle, then return any bot messages ``uid`` got that were not expected yet."""
        await self.settle()
        start = self.seen.get(uid, 0)
        extra = self.emu.bot_messages(uid)[start:]
        self.seen[uid] = start + len(extra)
        return extra

    def current(self, uid: int, message: dict) -> dict:
        """``message`` as it looks now (after edits)."""
        return next(m for m in self.emu.bot_messages(uid) if m["message_id"] == message["message_id"])


def button_labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["text"] for row in rows for b in row]


def button_data(message: dict, label: str) -> str:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    for row in rows:
        for b in row:
            if b["text"] == label:
                return b["callback_data"]
    raise LookupError(f"no button {label!r}; buttons: {button_labels(message)}")


def latest_with_button(stage: Stage, uid: int, label: str) -> dict:
    """The newest bot message in ``uid``'s chat that shows a button labelled ``label``."""
    for message in reversed(stage.emu.bot_messages(uid)):
        if label in button_labels(message):
            return message
    raise LookupError(f"no message with a {label!r} button in chat {uid}")
