"""The outbox under faults, through the emulator and the real aiogram client: 429s honoured,
5xx retried, blocked chats reported to the supervisor, nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from bot.ratelimit import TokenBucket
from handlers.context import push
from handlers.messages import Msg
from models.enums import OutboxStatus, Role
from models.people import ChannelIdentity
from models.runtime import OutboxMessage
from tests.support.telegram import TelegramWorld


async def rows(w: TelegramWorld) -> list[OutboxMessage]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


def sent_texts(w: TelegramWorld, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in w.emu.bot_messages(chat_id)]


async def test_429_is_honoured_and_nothing_is_lost_or_doubled(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(10, Role.ENGINEER, "Li")
        w.emu.fail_next(2, status=429, retry_after=1, method="sendMessage")
        for _ in range(3):
            w.say(10, "/help")
        replies = await w.expect(10, 3)
        assert all(r["text"].startswith("You are an engineer.") for r in replies)
        assert await w.quiet(10) == []  # three answers, each exactly once
        calls = w.emu.api_calls("sendMessage")
        refused = [c for c in calls if c["status"] == 429]
        assert len(refused) == 2
        after = [c for c in calls if c["status"] == 200 and c["at"] > refused[-1]["at"]]
        assert after and (after[0]["at"] - refused[-1]["at"]) >= 0.95  # waited out retry_after
        stored = await rows(w)
        assert all(r.status is OutboxStatus.SENT for r in stored)
        assert len({r.external_message_id for r in stored if r.payload.get("kind", "message") == "message"}) \
            == len([r for r in stored if r.payload.get("kind", "message") == "message"])


async def test_a_retried_message_is_not_overtaken_in_its_chat(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(12, Role.ENGINEER, "Li")
        await w.stop_bot()
        now = w.clock.now()
        async with w.app.db.write() as s:
            person_id = (await s.scalar(select(ChannelIdentity).where(ChannelIdentity.chat_id == "12"))).person_id
            for n in range(4):
                await push(s, w.app, person_id, Msg("start.welcome_back", {"name": f"#{n}"}), purpose="test",
                           ticket_id=None, dedupe=f"order:{n}", now=now)
        w.emu.fail_next(1, status=429, retry_after=1, method="sendMessage")
        await w.start_bot()
        replies = await w.expect(12, 4)
        assert [r["text"] for r in replies] == [f"Welcome back, #{n}." for n in range(4)]
        # a message written during the retry wait queues behind it too
        assert await w.quiet(12) == []


async def test_server_errors_back_off_and_retry(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(11, Role.ENGINEER, "Li")
        w.emu.fail_next(2, status=502, method="sendMessage")
        w.say(11, "/help")
        [reply] = await w.expect(11, 1, timeout=15)
        assert reply["text"].startswith("You are an engineer.")
        await w.settle()
        row = [r for r in await rows(w) if r.purpose == "reply"][-1]
        assert row.status is OutboxStatus.SENT and row.attempts == 3 and row.last_error is None


async def test_blocked_chat_fails_once_and_the_supervisor_is_told(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(20, Role.SUPERVISOR, "Wang")
        await w.join(21, Role.ENGINEER, "Li")
        w.emu.block_chat(21)
        w.say(21, "/help")
        [alert] = await w.expect(20)
        assert alert["text"] == "Could not deliver a message to Li: Forbidden: bot was blocked by the user"
        await w.settle()
        failed = [r for r in await rows(w) if r.status is OutboxStatus.FAILED]
        assert len(failed) == 1 and failed[0].chat_id == "21" and "blocked" in failed[0].last_error
        async with w.app.db.read() as s:
            identity = await s.scalar(select(ChannelIdentity).where(ChannelIdentity.chat_id == "21"))
        assert "blocked" in identity.unreachable_reason
        assert await w.quiet(20) == []  # told once


async def test_rows_left_by_a_crash_are_sent_on_restart_exactly_once(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(30, Role.ENGINEER, "Li")
        await w.stop_bot()
        now = w.clock.now()
        async with w.app.db.write() as s:
            person_id = (await s.scalar(select(ChannelIdentity).where(ChannelIdentity.chat_id == "30"))).person_id
            for n in range(3):
                assert await push(s, w.app, person_id, Msg("start.welcome_back", {"name": f"#{n}"}),
                                  purpose="test", ticket_id=None, dedupe=f"crash:{n}", now=now)
        await w.start_bot()
        replies = await w.expect(30, 3)
        assert [r["text"] for r in replies] == ["Welcome back, #0.", "Welcome back, #1.", "Welcome back, #2."]
        assert await w.quiet(30) == []


async def test_delayed_rows_wait_for_their_time(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await w.join(40, Role.ENGINEER, "Li")
        now = w.clock.now()
        async with w.app.db.write() as s:
            person_id = (await s.scalar(select(ChannelIdentity).where(ChannelIdentity.chat_id == "40"))).person_id
            await push(s, w.app, person_id, Msg("start.welcome_back", {"name": "later"}), purpose="test",
                       ticket_id=None, dedupe="later", now=now, not_before=now + timedelta(seconds=1))
        w.rt.sender.wake()
        [reply] = await w.expect(40, timeout=5)
        await w.settle()
        sent = [r for r in await rows(w) if r.dedupe_key == "later"][0]
        assert reply["text"] == "Welcome back, later." and sent.sent_at >= now + timedelta(seconds=1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_mode_with_secret(tmp_path: Path) -> None:
    port = _free_port()
    extra = (f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{port}/tg"\n'
             f'webhook_secret = "s3cret-token"\nwebhook_listen = "127.0.0.1:{port}"\n')
    async with TelegramWorld(tmp_path, telegram_extra=extra) as w:
        assert w.emu.webhook()["url"] == f"http://127.0.0.1:{port}/tg"
        await w.join(50, Role.ENGINEER, "Li")
        w.say(50, "/help")
        [reply] = await w.expect(50)
        assert reply["text"].startswith("You are an engineer.")
        import aiohttp

        async with aiohttp.ClientSession() as http:
            forged = {"update_id": 999999, "message": {"message_id": 1, "date": int(datetime.now().timestamp()),
                                                       "chat": {"id": 50, "type": "private"},
                                                       "from": {"id": 50, "is_bot": False, "first_name": "X"},
                                                       "text": "/help"}}
            async with http.post(f"http://127.0.0.1:{port}/tg", json=forged,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as resp:
                assert resp.status == 401
        assert await w.quiet(50) == []


async def test_a_push_held_for_quiet_hours_does_not_hold_back_replies(tmp_path: Path) -> None:
    """Only a row waiting for a *retry* holds its chat back; one scheduled for the morning does not."""
    async with TelegramWorld(tmp_path) as w:
        await w.join(60, Role.ENGINEER, "Li")
        now = w.clock.now()
        async with w.app.db.write() as s:
            person_id = (await s.scalar(select(ChannelIdentity).where(ChannelIdentity.chat_id == "60"))).person_id
            await push(s, w.app, person_id, Msg("start.welcome_back", {"name": "morning"}), purpose="test",
                       ticket_id=None, dedupe="morning", now=now, not_before=now + timedelta(hours=10))
        w.say(60, "/help")
        [reply] = await w.expect(60, timeout=5)
        assert reply["text"].startswith("You are an engineer.")
        held = [r for r in await rows(w) if r.dedupe_key == "morning"][0]
        assert held.status is OutboxStatus.PENDING and held.attempts == 0


async def test_a_reply_goes_ahead_of_a_bulk_wave_and_the_wave_is_claimed_in_slices(tmp_path: Path) -> None:
    from handlers.channel import Outbound
    from models.enums import Channel

    async with TelegramWorld(tmp_path) as w:
        await w.join(70, Role.ENGINEER, "Li")
        await w.stop_bot()
        w.app.config.telegram.rate = 10.0  # 60 messages take ~6 s at this pace
        await w.start_bot()
        sender = w.rt.sender
        assert sender.in_flight == 40
        wave = [900_000 + i for i in range(60)]
        for uid in wave:
            w.emu.add_user(uid, first_name=f"E{uid}")
        now = w.clock.now()
        async with w.app.db.write() as s:
            s.add_all(OutboxMessage(person_id=None, channel=Channel.TELEGRAM, chat_id=str(uid),
                                    payload=Outbound(text=f"escalation {uid}").to_payload(), dedupe_key=f"wave:{uid}",
                                    not_before=now, purpose="escalation", created_at=now) for uid in wave)
        sender.wake()
        await asyncio.sleep(0.5)
        assert len(sender._inflight) <= sender.in_flight  # the rest of the wave waits in the table
        w.say(70, "/help")
        [reply] = await w.expect(70, timeout=10)
        wave_before_reply = [c for c in w.emu.api_calls("sendMessage")
                             if int(c["params"]["chat_id"]) in set(wave) and c["at"] < reply_at(w, 70)]
        assert len(wave_before_reply) < 30, "the reply waited behind the wave"
        await w.settle(timeout=20)
        sent = [r for r in await rows(w) if r.dedupe_key.startswith("wave:")]
        assert len(sent) == 60 and all(r.status is OutboxStatus.SENT for r in sent)
        per_chat = [int(c["params"]["chat_id"]) for c in w.emu.api_calls("sendMessage") if c["ok"]]
        assert sorted(u for u in per_chat if u in set(wave)) == wave  # each exactly once


def reply_at(w: TelegramWorld, chat_id: int) -> float:
    return [c["at"] for c in w.emu.api_calls("sendMessage") if int(c["params"]["chat_id"]) == chat_id and c["ok"]][-1]


async def test_token_bucket_serves_priority_waiters_first() -> None:
    bucket = TokenBucket(rate=50.0, burst=1)
    order: list[str] = []

    async def take(name: str, priority: int) -> None:
        await bucket.acquire(priority)
        order.append(name)

    await bucket.acquire()  # the saved-up token: everyone below has to wait
    tasks = [asyncio.create_task(take(f"bulk{i}", 1)) for i in range(5)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take("reply", 0)))
    await asyncio.gather(*tasks)
    assert order[0] == "reply" and order[1:] == [f"bulk{i}" for i in range(5)]


async def test_a_row_waiting_past_half_its_lease_is_renewed_or_dropped_if_taken_over(db) -> None:  # noqa: ANN001
    """Rows can wait behind their chat's pace; before sending, the sender renews a lease that is
    more than half gone — only if it is still its own (another instance may have claimed it)."""
    from bot.app import FixedClock
    from handlers.channel import Outbound
    from bot.outbox_store import LEASE, OutboxStore
    from models.enums import Channel

    class App:  # the sender needs only the database and a clock
        def __init__(self) -> None:
            self.db, self.clock = db, FixedClock(datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc))

    app = App()
    now = app.clock.now()
    async with db.write() as s:
        for n in (1, 2):
            s.add(OutboxMessage(channel=Channel.TELEGRAM, chat_id="7", payload=Outbound(text="x").to_payload(),
                                dedupe_key=f"lease:{n}", not_before=now, purpose="push", created_at=now,
                                lease_until=now + LEASE))
    async with db.read() as s:
        mine, taken = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    store = OutboxStore(app, "this-instance", None)
    assert await store.still_mine(mine)  # fresh lease: no query, still ours
    app.clock.now = lambda: now + LEASE * 0.75  # type: ignore[method-assign]
    async with db.write() as s:  # meanwhile another instance claimed the second row anew
        (await s.get(OutboxMessage, taken.id)).lease_until = now + LEASE * 2
    assert await store.still_mine(mine) and mine.lease_until == now + LEASE * 1.75
    assert not await store.still_mine(taken)
    async with db.read() as s:
        assert (await s.get(OutboxMessage, mine.id)).lease_until == now + LEASE * 1.75
        assert (await s.get(OutboxMessage, taken.id)).lease_until == now + LEASE * 2
