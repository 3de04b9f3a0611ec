"""Durable intake end to end: an update is confirmed to Telegram only once it is stored, stored
updates left by a crash are handled on start (in order), one that keeps failing is parked and
shown by ``fieldbot inbox``, and what a dead instance leased is released at once.

The database is made to fail for real: another connection holds SQLite's write lock (as a
``fieldbot`` CLI command or a backup would) and the bot's busy timeout is short.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from models.enums import Channel, InboxStatus, OutboxStatus, Role
from models.runtime import InboundEvent, Instance, OutboxMessage
from tests.support.telegram import RUNTIMES, TelegramWorld

ENG, SUP = 300, 301


class WriteLock:
    """Holds SQLite's write lock from another connection (another process would do the same)."""

    def __init__(self, path: Path):
        self.path = path
        self._release = threading.Event()
        self._held = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> WriteLock:
        def hold() -> None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            conn.execute("BEGIN IMMEDIATE")
            self._held.set()
            self._release.wait(30)
            conn.execute("ROLLBACK")
            conn.close()

        self._thread = threading.Thread(target=hold, daemon=True)
        self._thread.start()
        assert self._held.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._thread.join(10)


def raw_text(update_id: int, uid: int, text: str, *, lang: str = "en") -> dict:
    """A Telegram update as the Bot API sends it."""
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text, "entities": entities,
        "chat": {"id": uid, "type": "private", "first_name": "Li"},
        "from": {"id": uid, "is_bot": False, "first_name": "Li", "language_code": lang}}}


async def inbox(w: TelegramWorld) -> list[InboundEvent]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(InboundEvent).order_by(InboundEvent.id))).all())


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_nothing_is_confirmed_before_it_is_stored(tmp_path: Path, mode: str, runtime: str) -> None:
    extra = 'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{port}/tg"\nwebhook_listen = "127.0.0.1:{port}"\n'
    port = _free_port()
    async with TelegramWorld(tmp_path, database_extra='busy_timeout = "1s"\n', runtime=runtime,
                     telegram_extra=extra.format(port=port) if mode == "webhook" else "") as w:
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        with WriteLock(tmp_path / "world.db"):
            w.say(ENG, "/help")
            await asyncio.sleep(3.0)  # polls / webhook tries that cannot store
            pending = w.emu.pending_updates()
            assert [u["message"]["text"] for u in pending] == ["/help"]  # Telegram still holds it
            if mode == "webhook":
                assert (w.emu.webhook() or {}).get("pending_update_count", 1) >= 1
        [reply] = await w.expect(ENG, timeout=15)
        assert reply["text"].startswith("You are an engineer.")
        await w.emu.wait_until_consumed(timeout=10)
        rows = await inbox(w)
        assert [r.status for r in rows][-1] is InboxStatus.DONE and rows[-1].payload is None


async def test_stored_updates_left_by_a_crash_are_handled_on_start_in_order(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.stop_bot()
        async with w.app.db.write() as s:  # what a killed instance stored but never handled
            s.add(Instance(id="dead-one", host="elsewhere", pid=1,
                           heartbeat_at=datetime.now(timezone.utc) - timedelta(minutes=5)))
            for n, text in enumerate(["/help", "/lang zh", "/help"]):
                s.add(InboundEvent(channel=Channel.TELEGRAM, external_id=str(9000 + n), status=InboxStatus.PENDING,
                                   payload=raw_text(9000 + n, ENG, text), instance_id="dead-one",
                                   received_at=w.clock.now()))
        w.injected += 3
        await w.start_bot()
        texts = [m["text"] for m in await w.expect(ENG, 3)]
        assert texts[0].startswith("You are an engineer.")
        assert texts[1] == "语言已设为中文。"
        assert texts[2].startswith("您是工程师。")
        assert {r.status for r in await inbox(w)} == {InboxStatus.DONE}
        async with w.app.db.read() as s:
            assert await s.get(Instance, "dead-one") is None  # buried


async def test_an_update_that_crashed_the_process_again_and_again_is_parked(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.stop_bot()
        async with w.app.db.write() as s:
            # Recovered four times already, each time the process died: the fifth start parks it.
            s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="7001", status=InboxStatus.PENDING,
                               payload=raw_text(7001, ENG, "/help"), attempts=4, instance_id=None,
                               received_at=w.clock.now()))
            # An innocent one recovered once before: run alone, then handled.
            s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="7002", status=InboxStatus.PENDING,
                               payload=raw_text(7002, ENG, "/lang zh"), attempts=1, instance_id=None,
                               received_at=w.clock.now()))
        w.injected += 2
        await w.start_bot()
        texts = [m["text"] for m in await w.expect(ENG, 2)]
        assert texts == ["Sorry, something went wrong on our side. Please try again in a minute.", "语言已设为中文。"]
        rows = {r.external_id: r for r in await inbox(w)}
        assert rows["7001"].status is InboxStatus.PARKED and "5 times" in rows["7001"].last_error
        assert rows["7001"].payload["message"]["text"] == "/help"  # kept for the operator
        assert rows["7002"].status is InboxStatus.DONE and rows["7002"].attempts == 2


async def test_unreadable_updates_are_parked_and_the_rest_handled(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    async with TelegramWorld(tmp_path) as w:
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        bad = {"update_id": 8001, "message": {"message_id": 1, "text": "no chat, no date"}}
        ignored = {"update_id": 8002, "edited_message": raw_text(1, ENG, "edited")["message"]}
        new = await w.rt.intake.accept(Channel.TELEGRAM, [("8001", bad), ("8002", ignored),
                                                          ("8003", raw_text(8003, ENG, "/help"))])
        assert new == 1
        w.injected += 1
        [reply] = await w.expect(ENG)
        assert reply["text"].startswith("You are an engineer.")
        rows = {r.external_id: r for r in await inbox(w)}
        assert "8002" not in rows  # a kind Fieldbot does not handle is not kept
        assert rows["8001"].status is InboxStatus.PARKED and rows["8001"].last_error.startswith("unreadable")
        # The same update again (a resend) changes nothing.
        assert await w.rt.intake.accept(Channel.TELEGRAM, [("8003", raw_text(8003, ENG, "/help"))]) == 0
        assert await w.quiet(ENG) == []

        config = tmp_path / "config.toml"
        config.write_text(f'[database]\nurl = "{w.db_url}"\n', encoding="utf-8")
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["--config", str(config), "--lang", "en", "inbox"]) == 0
        listing = capsys.readouterr().out.splitlines()
        assert listing[0] == "waiting to be handled: 0; parked: 1"
        assert listing[1].startswith(f"#{rows['8001'].id}  telegram 8001  received ") and "unreadable" in listing[1]
        assert await asyncio.to_thread(main, ["--config", str(config), "--lang", "en", "inbox", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["update"] == bad
        assert await asyncio.to_thread(main, ["--config", str(config), "--lang", "en", "inbox", "drop", str(rows["8001"].id), "99999"]) == 2
        assert "not parked (or no such id): 99999" in capsys.readouterr().out
        assert (await inbox(w))[-2].status is InboxStatus.DONE


async def test_a_parked_update_retried_by_the_operator_is_handled(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    async with TelegramWorld(tmp_path) as w:
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        async with w.app.db.write() as s:
            s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="6001", status=InboxStatus.PARKED,
                               payload=raw_text(6001, ENG, "/help"), attempts=5, last_error="boom",
                               received_at=w.clock.now()))
        config = tmp_path / "config.toml"
        config.write_text(f'[database]\nurl = "{w.db_url}"\n', encoding="utf-8")
        assert await asyncio.to_thread(main, ["--config", str(config), "--lang", "en", "inbox", "retry"]) == 2  # says which
        assert await asyncio.to_thread(main, ["--config", str(config), "--lang", "en", "inbox", "retry", "--all"]) == 0
        assert "1 update handed back" in capsys.readouterr().out
        w.injected += 1
        [reply] = await w.expect(ENG, timeout=10)  # the next heartbeat (2 s) takes it over
        assert reply["text"].startswith("You are an engineer.")


async def test_messages_leased_by_a_dead_instance_go_out_at_once(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.stop_bot()
        far = w.clock.now() + timedelta(minutes=10)
        async with w.app.db.write() as s:
            s.add(Instance(id="killed", host="elsewhere", pid=1,
                           heartbeat_at=datetime.now(timezone.utc) - timedelta(seconds=30)))
            s.add(OutboxMessage(person_id=None, channel=Channel.TELEGRAM, chat_id=str(ENG),
                                payload={"text": "left behind"}, dedupe_key="left", lease_until=far,
                                leased_by="killed", purpose="reply", created_at=w.clock.now(),
                                not_before=w.clock.now()))
        started = time.monotonic()
        await w.start_bot()
        [message] = await w.expect(ENG, timeout=5)
        assert message["text"] == "left behind" and time.monotonic() - started < 5  # not after the lease
        await w.settle()
        async with w.app.db.read() as s:
            row = await s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "left"))
            assert row.status is OutboxStatus.SENT and row.leased_by is None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_an_earlier_update_of_the_session_goes_first_whichever_instance_stored_it(tmp_path: Path) -> None:
    """Behind a load balancer: another instance stored this engineer's /help and died before
    handling it; the engineer's next message reaches us first.  It waits for the earlier one
    (handled here once the other instance is known dead), so the answers come in order."""
    async with TelegramWorld(tmp_path) as w:
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.stop_bot()
        async with w.app.db.write() as s:
            s.add(Instance(id="other", host="elsewhere", pid=1, heartbeat_at=datetime.now(timezone.utc)))
            s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="5001", status=InboxStatus.PENDING,
                               payload=raw_text(5001, ENG, "/help"), instance_id="other",
                               session_key=f"tg:{ENG}:{ENG}", received_at=w.clock.now()))
        await w.start_bot()
        for _ in range(100):  # the start-up heartbeat
            if len(w.rt.intake.alive) == 2:
                break
            await asyncio.sleep(0.05)
        assert w.rt.intake.alive == {w.rt.instances.id, "other"}  # alive: its work is left alone
        w.say(ENG, "/lang zh")
        await asyncio.sleep(1.0)
        assert w.emu.bot_messages(ENG)[w.seen[ENG]:] == []  # the later update waits for the earlier one
        async with w.app.db.write() as s:  # the other instance stops beating
            (await s.get(Instance, "other")).heartbeat_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        texts = [m["text"] for m in await w.expect(ENG, 2, timeout=10)]
        assert texts[0].startswith("You are an engineer.") and texts[1] == "语言已设为中文。"
        assert {r.status for r in await inbox(w)} == {InboxStatus.DONE}
