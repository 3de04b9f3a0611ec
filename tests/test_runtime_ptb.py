"""The bot on python-telegram-bot (``telegram.runtime = "ptb"``), end to end: a short day — the team
joins, a ticket is dispatched, accepted, the engineer sets off, arrives with a photo and his
location, the supervisor acknowledges the check-in — played against the Bot API emulator by long
polling and by webhook, with PTB's real HTTP client making every call (menus, inline and reply
keyboards, edits, callback answers, the photo download and re-send).

The end-to-end flow scenarios run on both runtimes by polling (the ``channel`` fixture); this day
adds the webhook mode and ``fieldbot run``, and ``tests/test_channel_contract.py`` holds both
runtimes to one contract.  Expected texts are the ones the flow tests assert (test_flow_dispatch,
test_flow_engineer, test_flow_checkins).
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import socket
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.app import FixedClock
from bot.channels.telegram_ptb import PtbTelegramAdapter
from bot.stage import latest_with_button
from models.enums import Role, ServiceType, TicketStatus
from models.invites import create_invite, team_by_name
from models.registry import Registration, register_ticket
from models.tickets import Ticket
from models.work import Attachment, Checkin
from tests.support.telegram import TelegramWorld, button_labels, png

#: 10:30 in Shanghai (the default team time zone), so message times are exact.
T0 = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)
SUP, DSP, ENG, CUST = 100, 101, 102, 104


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ptb_world(tmp_path: Path, mode: str) -> TelegramWorld:
    extra = ""
    if mode == "webhook":
        port = _free_port()
        extra = f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{port}/tg"\nwebhook_listen = "127.0.0.1:{port}"\n'
    return TelegramWorld(tmp_path, runtime="ptb", clock=FixedClock(T0), telegram_extra=extra)


async def new_ticket(w: TelegramWorld) -> Ticket:
    async with w.app.db.write() as s:
        north = await team_by_name(s, "North", create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address="1 Harbour Rd", model="X200",
                           fault="Display flickers", severity=2, service=ServiceType.ONSITE, team_id=north.id)
        return await register_ticket(s, reg, now=w.clock.now(), today=date(2026, 3, 2), warranty=timedelta(days=365))


async def join_customer(w: TelegramWorld, ticket: Ticket) -> None:
    async with w.app.db.write() as s:
        token = await create_invite(s, role=Role.CUSTOMER, name="Mr Lin", now=w.clock.now(), ttl=timedelta(days=1),
                                    customer_id=ticket.customer_id, ticket_id=ticket.id)
    w.say(CUST, f"/start {token}", first_name="Mr Lin", language_code="en")
    await w.settle()
    w.seen[CUST] = len(w.emu.bot_messages(CUST))


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_short_day_on_ptb(tmp_path: Path, mode: str) -> None:
    async with ptb_world(tmp_path, mode) as w:
        assert isinstance(w.rt.adapter, PtbTelegramAdapter) and isinstance(w.rt.bot, Bot)
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        if mode == "webhook":  # the updates came by webhook, none by getUpdates
            assert w.emu.webhook()["url"].endswith("/tg") and w.emu.api_calls("getUpdates") == []
        else:
            assert w.emu.api_calls("getUpdates") and not (w.emu.webhook() or {}).get("url")
        assert {c["command"] for c in w.emu.commands({"type": "chat", "chat_id": ENG})} >= {"tickets", "checkin"}
        ticket = await new_ticket(w)
        await join_customer(w, ticket)
        n = ticket.number

        # dispatch: the list, the engineer picker, the card
        w.say(DSP, "/dispatch")
        [listing] = await w.expect(DSP)
        assert listing["text"].startswith("New tickets waiting for dispatch (most severe first):\n")
        w.press(DSP, listing, n)
        [picker] = await w.expect(DSP)
        assert picker["text"] == f"Dispatch {n} (X200, 1 Harbour Rd) to which engineer?"
        w.press(DSP, picker, "Li Lei · 0 open")
        [done] = await w.expect(DSP)
        assert done["text"].startswith(f"{n} dispatched to Li Lei.")
        assert w.current(DSP, picker)["text"] == f"{n}: Li Lei chosen."  # edited in place
        [card] = await w.expect(ENG)
        assert card["text"].startswith(f"New job for you:\n{n} · X200 · 1 Harbour Rd\nStatus: dispatched")

        # accept
        w.press(ENG, card, "Accept")
        [eng_card] = await w.expect(ENG)
        assert eng_card["text"].startswith(f"{n} · X200 · 1 Harbour Rd\nStatus: accepted")
        assert [m["text"] for m in await w.expect(CUST)] == [f"Engineer Li Lei accepted your ticket {n}."]
        assert [m["text"] for m in await w.expect(DSP)] == [f"Li Lei accepted {n}."]

        # on my way, with an ETA
        w.press(ENG, latest_with_button(w, ENG, "On my way"), "On my way")
        [ask] = await w.expect(ENG)
        assert ask["text"].startswith(f"Ticket {n}: when do you expect to arrive?")
        w.say(ENG, "40m")
        [going] = await w.expect(ENG)
        assert going["text"].startswith("On your way, expected around 11:10.\n")
        assert button_labels(going) == ["Arrived"]
        assert [m["text"] for m in await w.expect(CUST)] == [
            f"Engineer Li Lei is on the way for ticket {n}, expected around 11:10."]

        # arrival: a photo (downloaded through PTB), then the location from the reply keyboard
        w.press(ENG, going, "Arrived")
        [ask] = await w.expect(ENG)
        assert ask["text"] == f"Ticket {n}: send a photo of the site (the equipment or the entrance)."
        w.photo(ENG, seed=7)
        [ask] = await w.expect(ENG)
        assert ask["text"] == "Got the photo. Now send your location."
        assert w.emu.reply_keyboard(ENG)["keyboard"] == [[{"text": "📍 Send my location", "request_location": True}]]
        w.injected += 1
        w.emu.press_reply_button(ENG, "📍 Send my location", latitude=31.23041, longitude=121.47370)
        recorded, _card = await w.expect(ENG, 2)
        assert recorded["text"] == f"Arrival at {n} recorded and sent to your supervisor."
        async with w.app.db.read() as s:
            row = await s.get(Ticket, ticket.id)
            assert row.status is TicketStatus.ON_SITE
            checkin = await s.scalar(select(Checkin).where(Checkin.ticket_id == ticket.id))
            [photo] = (await s.scalars(select(Attachment).where(Attachment.checkin_id == checkin.id))).all()
        assert photo.sha256 == hashlib.sha256(png(7)).hexdigest()
        assert [m["text"] for m in await w.expect(CUST)] == [f"Engineer Li Lei has arrived for ticket {n}."]

        # the supervisor gets the photo (re-sent by file) and the check-in, and acknowledges it
        pic, text = await w.expect(SUP, 2)
        assert "photo" in pic
        assert text["text"] == "\n".join([
            "Arrival check-in from Li Lei at 10:30", f"{n} · X200 · 1 Harbour Rd",
            "Location: 31.23041, 121.47370", "The site had no location on record: it takes this one from now on.",
            "Photos: 1"])
        callback = w.press(SUP, text, "Acknowledge")
        [told] = await w.expect(ENG)
        assert told["text"] == f"Wang Wei acknowledged your arrival check-in on {n} at 10:30."
        assert await w.emu.wait_for_callback_answer(callback) is not None
        now = w.current(SUP, text)
        assert now["text"].endswith("Acknowledged by Wang Wei at 10:30") and button_labels(now) == []
        assert await w.quiet(SUP) == []
        await w.emu.wait_until_consumed()


async def test_fieldbot_run_serves_on_ptb(tmp_path: Path) -> None:
    """``fieldbot run`` with ``runtime = "ptb"`` (no longer refused) polls and answers."""
    from bot.emulator import BotApiEmulator
    from bot.stage import TOKEN

    root = Path(__file__).resolve().parent.parent
    async with BotApiEmulator(TOKEN) as emu:
        config = tmp_path / "config.toml"
        config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "f.db"}"\n'
                          f'[telegram]\ntoken = "{TOKEN}"\nruntime = "ptb"\napi_base = "{emu.base_url}"\n'
                          f'[storage]\nmedia_dir = "{tmp_path / "media"}"\n', encoding="utf-8")
        run = [sys.executable, "-m", "bot", "--config", str(config)]
        upgrade = await asyncio.create_subprocess_exec(*run, "db", "upgrade", cwd=root,
                                                       stdout=asyncio.subprocess.DEVNULL)
        assert await upgrade.wait() == 0
        proc = await asyncio.create_subprocess_exec(*run, "run", "--log-level", "WARNING", cwd=root,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            emu.send_text(7, "/help", first_name="Stranger", language_code="en")
            [reply] = await emu.wait_for_messages(7, 1, timeout=30)
            assert reply["text"]
            assert emu.api_calls("getUpdates")
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert b"Traceback" not in err, err.decode()
        assert emu.spec_mismatches() == []
