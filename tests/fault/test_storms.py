"""Fault suite: storms during a push wave.

The real bot (aiogram polling, outbox sender, a SQLite file) delivers a wave of pushes — 20
chats, five numbered messages each, written in one transaction through ``handlers.context.push``
as a scheduler chase wave writes them — while the Bot API emulator pushes back: a 429 storm with
``retry_after``, 5xx on a fraction of calls, connections dropped before and after the method ran,
replies held beyond the client's timeout, and all of it at once (getUpdates included).  Another
scenario sends pushes of two photos and a text (one outbox row per photo) through a 429.

What must hold (DESIGN §3, ``bot/outbox.py``):

* nothing is lost: every message reaches its chat at least once, every row ends ``sent``;
* order per chat: the *first* delivery of each message comes in the order it was written;
* a message goes out twice only where the emulator ran the call and the bot could not see it
  succeed (a ``when="after"`` fault, or a delayed call that ran after the client timed out):
  per message, extra deliveries <= such blind executions of it, and in all <= those faults;
* ``retry_after`` is honoured: once a 429 reached the sender, it starts no send for that long;
* a person who writes /help while the storm blows is answered ahead of the wave, and again after.

The figures (messages, faults by kind, duplicates, time to drain, ...) are printed (``pytest -s``)
and recorded as test properties.

The bot's Bot API request timeout is aiogram's default, 60 s, and the project has no setting for
it (``[telegram]`` has none): these tests shorten it on the runtime's own aiogram session
(``rt.bot.session.timeout``, aiogram's attribute) rather than change project code.

Two defects this file found are fixed and guarded by the last two tests: the sender burst every
chat at once when a 429 hold ended (each worker took its token before waiting out the hold; now
the bucket itself is held and refills from empty), and the poller ignored ``retry_after`` on
getUpdates.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.emulator import RateLimits
from handlers.context import push
from handlers.messages import Msg
from models.enums import OutboxStatus, Role
from models.people import ChannelIdentity
from models.runtime import OutboxMessage
from tests.support.telegram import TelegramWorld

CHATS = 20
PER_CHAT = 5
FIRST_UID = 2001
PROBE = 10  # a person who writes /help while the storm blows
BOT_TIMEOUT = 1.0  # the bot's request timeout here, seconds (aiogram's default is 60)
SLOW = 2.5  # a delayed reply comes this late: well past BOT_TIMEOUT
RETRY_AFTER = 2
SENDS = {"sendMessage", "sendPhoto"}
#: A send already on its way when a 429 reached the sender may arrive just after that 429.
IN_FLIGHT_SLACK = 0.3
TELEGRAM_PER_SECOND = 30
TEXT = re.compile(r"Welcome back, (\w+) (\d+) #(\d+)\.")
HELP = "You are an engineer."


# -- the people and the wave ----------------------------------------------------------------

async def crew(w: TelegramWorld, uids: list[int], role: Role = Role.ENGINEER) -> dict[int, int]:
    """Everyone joins through the real /start flow, all at once; chat id -> person id."""
    for uid in uids:
        token = await w.invite(role, f"P{uid}")
        w.say(uid, f"/start {token}", first_name=f"P{uid}", language_code="en")
    await w.settle(timeout=30)
    for uid in uids:
        w.seen[uid] = len(w.emu.bot_messages(uid))
    async with w.app.db.read() as s:
        found = (await s.execute(select(ChannelIdentity.chat_id, ChannelIdentity.person_id)
                                 .where(ChannelIdentity.chat_id.in_([str(u) for u in uids])))).all()
    people = {int(chat): person for chat, person in found}
    assert sorted(people) == sorted(uids)
    return people


async def write_wave(w: TelegramWorld, people: dict[int, int], tag: str, per_chat: int,
                     photos: list[list[str]] | None = None) -> float:
    """One transaction writing ``per_chat`` pushes to everyone, interleaved across chats as a
    chase wave writes them; push ``n`` carries the photos ``photos[n]`` (file ids) if given."""
    now = w.clock.now()
    async with w.app.db.write() as s:
        for n in range(per_chat):
            for uid, person in people.items():
                refs = photos[n] if photos else []
                media = [{"file_ref": ref, "channel": "telegram", "path": None} for ref in refs]
                msg = Msg("start.welcome_back", {"name": f"{tag} {uid} #{n}"}, photos=media)
                assert await push(s, w.app, person, msg, purpose="chase", ticket_id=None,
                                  dedupe=f"{tag}:{uid}:{n}", now=now)
    w.rt.sender.wake()
    return time.time()


def expected(per_chat: int, photos: list[list[str]] | None = None) -> list[str]:
    items: list[str] = []
    for n in range(per_chat):
        items += [f"photo:{ref}" for ref in (photos[n] if photos else [])]
        items.append(f"#{n}")
    return items


async def all_sent(w: TelegramWorld, tag: str, count: int, timeout: float = 40.0) -> list[OutboxMessage]:
    """Wait until the wave's ``count`` rows have all left ``pending`` (``settle`` waits only for
    rows that are due, not for those backing off before a retry)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with w.app.db.read() as s:
            rows = list((await s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"{tag}:%"))
                                         .order_by(OutboxMessage.id))).all())
        if len(rows) == count and all(r.status is not OutboxStatus.PENDING for r in rows):
            return rows
        if loop.time() > deadline:
            stuck = [(r.chat_id, r.dedupe_key, r.attempts, r.last_error, r.not_before) for r in rows
                     if r.status is OutboxStatus.PENDING]
            raise TimeoutError(f"{len(stuck)} row(s) still pending after {timeout}s: {stuck[:5]}")
        await asyncio.sleep(0.1)


# -- reading the emulator's call log ---------------------------------------------------------

def sends(w: TelegramWorld) -> list[dict[str, Any]]:
    return [c for c in w.emu.api_calls() if c["method"] in SENDS and c.get("via") == "http"]


def blind(call: dict[str, Any]) -> bool:
    """The call ran (its message is in the chat), but the bot cannot have seen it succeed."""
    return call["ok"] and (call["reply_status"] != 200 or bool(call.get("client_gone")) or call["answered"] is None)


async def replies_settled(w: TelegramWorld) -> None:
    """Wait for replies the emulator still holds back: a delayed call is logged when its method
    ran and stamped ``answered`` (and ``client_gone``) only when its reply goes out."""
    await w.emu.wait_until(lambda: all(c["answered"] is not None for c in sends(w)), timeout=SLOW + 5,
                           what="delayed replies answered")


@dataclass
class Ledger:
    """What reached the chats of one wave, from the call log."""

    first: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # chat -> first deliveries
    deliveries: Counter = field(default_factory=Counter)  # (chat, item) -> times delivered
    blind: Counter = field(default_factory=Counter)  # (chat, item) -> executions the bot could not see
    last_first_delivery: float = 0.0

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.deliveries.values())


def ledger(w: TelegramWorld, tag: str, chats: set[int]) -> Ledger:
    book = Ledger()
    delivered: dict[int, list[tuple[int, str, float]]] = defaultdict(list)
    for call in sends(w):
        chat = int(call["params"]["chat_id"])
        if chat not in chats or not call["ok"]:
            continue
        if call["method"] == "sendPhoto":
            item = f"photo:{call['params']['photo']}"
        else:
            match = TEXT.fullmatch(call["params"].get("text", ""))
            if match is None or match[1] != tag:
                continue
            item = f"#{match[3]}"
        book.deliveries[chat, item] += 1
        book.blind[chat, item] += blind(call)
        delivered[chat].append((call["message_id"], item, call["done"]))
    for chat, items in delivered.items():
        for _, item, done in sorted(items):  # by message id: the order the person sees
            if item not in book.first[chat]:
                book.first[chat].append(item)
                book.last_first_delivery = max(book.last_first_delivery, done)
    return book


def check(book: Ledger, people: dict[int, int], per_chat: int, photos: list[list[str]] | None = None) -> None:
    """0 lost, first deliveries in order in every chat, a message twice only where the bot was blind."""
    for uid in people:
        assert book.first[uid] == expected(per_chat, photos), f"chat {uid}: lost or out of order"
    unexplained = {key: n - 1 for key, n in book.deliveries.items() if n - 1 > book.blind[key]}
    assert not unexplained, f"sent again though the bot had seen it succeed: {unexplained}"


def fault_kinds(w: TelegramWorld) -> Counter:
    """Faults that hit calls, by kind (``429/before``, ``drop/after``, ``slow/after``, ...)."""
    kinds: Counter = Counter()
    for call in w.emu.api_calls():
        if fault := call.get("fault"):
            status = {0: "drop", -1: "slow"}.get(fault["status"], fault["status"])
            kinds[f"{status}/{fault['when']}"] += 1
    return kinds


def could_duplicate(kinds: Counter) -> int:
    """Faults after which the method may have run unseen: every ``after`` one, and a delayed
    ``before`` one (it runs once the delay is over, after the client timed out)."""
    return sum(n for kind, n in kinds.items() if kind.endswith("/after") or kind == "slow/before")


def unprovoked_timeouts(w: TelegramWorld) -> int:
    """Sends no fault touched whose reply still came after the bot's (short) timeout: an event
    loop busy for a second can do it.  Like an after-fault, the bot could not see them succeed."""
    return sum(1 for c in sends(w) if c.get("client_gone") and not c.get("fault"))


@dataclass
class Holds:
    told: int  # 429 replies that reached the sender
    violations: list[dict[str, Any]]  # sends that started inside a retry_after hold
    peak_after: int  # most sends started in the first second after a hold ended


def holds(w: TelegramWorld, retry_after: float) -> Holds:
    calls = sends(w)
    windows = [(c["answered"], c["answered"] + retry_after) for c in calls
               if c["reply_status"] == 429 and not c.get("client_gone")]
    violations = [c for c in calls for start, end in windows if start + IN_FLIGHT_SLACK < c["at"] < end - 0.05]
    peak = max((sum(1 for c in calls if end - 0.05 <= c["at"] < end + 0.95) for end in {e for _, e in windows}),
               default=0)
    return Holds(len(windows), violations, peak)


def peak_per_second(calls: list[dict[str, Any]]) -> int:
    starts = sorted(c["at"] for c in calls)
    return max((sum(1 for t in starts if s <= t < s + 1.0) for s in starts), default=0)


def report(record_property, name: str, figures: dict[str, Any]) -> None:  # noqa: ANN001
    print(f"\n[storms:{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    for key, value in figures.items():
        record_property(f"{name}.{key}", value)


# -- the wave scenarios -----------------------------------------------------------------------

#: name -> stages: (start once this many wave messages were delivered, storms: ``emu.storm`` kwargs).
#: The person writes /help as the last stage begins.
SCENARIOS: dict[str, list[tuple[int, list[dict[str, Any]]]]] = {
    "429": [(30, [dict(duration=3.0, status=429, retry_after=RETRY_AFTER, method="sendMessage")])],
    "5xx": [(0, [dict(duration=5.0, status=500, ratio=0.15, seed=11, method="sendMessage"),
                 dict(duration=5.0, status=502, ratio=0.15, seed=12, method="sendMessage")])],
    "drop": [(0, [dict(duration=5.0, status=0, ratio=0.12, seed=21, when="before", method="sendMessage"),
                  dict(duration=5.0, status=0, ratio=0.12, seed=22, when="after", method="sendMessage")])],
    "timeout": [(0, [dict(duration=5.0, status=-1, delay=SLOW, ratio=0.08, seed=31, when="before",
                          method="sendMessage"),
                     dict(duration=5.0, status=-1, delay=SLOW, ratio=0.08, seed=32, when="after",
                          method="sendMessage")])],
    # Everything at once, on every method (getUpdates too), and a 429 storm half way through.
    "mixed": [(0, [dict(duration=6.0, status=500, ratio=0.05, seed=41),
                   dict(duration=6.0, status=502, ratio=0.05, seed=42),
                   dict(duration=6.0, status=0, ratio=0.05, seed=43, when="before"),
                   dict(duration=6.0, status=0, ratio=0.05, seed=44, when="after"),
                   dict(duration=6.0, status=-1, delay=SLOW, ratio=0.04, seed=45, when="before"),
                   dict(duration=6.0, status=-1, delay=SLOW, ratio=0.04, seed=46, when="after")]),
              (50, [dict(duration=2.0, status=429, retry_after=RETRY_AFTER)])],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_wave_through_a_storm_loses_nothing_and_keeps_each_chats_order(
        tmp_path: Path, name: str, record_property) -> None:  # noqa: ANN001
    tag = "W" + re.sub(r"\W", "", name)
    async with TelegramWorld(tmp_path) as w:
        w.rt.bot.session.timeout = BOT_TIMEOUT
        await crew(w, [PROBE])
        people = await crew(w, list(range(FIRST_UID, FIRST_UID + CHATS)))
        written = await write_wave(w, people, tag, PER_CHAT)

        def delivered() -> int:
            return sum(1 for c in sends(w) if c["ok"] and int(c["params"]["chat_id"]) in people)

        for start_after, storms in SCENARIOS[name]:
            await w.emu.wait_until(lambda: delivered() >= start_after, timeout=15, what="the wave under way")
            for storm in storms:
                w.emu.storm(**storm)
        asked = time.time()
        w.say(PROBE, "/help")  # a person writes while the storm blows
        [during] = await w.expect(PROBE, 1, timeout=20)
        assert during["text"].startswith(HELP), during["text"]
        answered = min(c["done"] for c in sends(w) if c["ok"] and int(c["params"]["chat_id"]) == PROBE
                       and c["done"] >= asked)

        rows = await all_sent(w, tag, CHATS * PER_CHAT)
        await w.settle(timeout=10)
        w.emu.clear_faults()
        w.say(PROBE, "/help")  # and after it
        [after] = await w.expect(PROBE, 1, timeout=10)
        assert after["text"].startswith(HELP)
        await w.settle(timeout=10)
        await replies_settled(w)

        book = ledger(w, tag, set(people))
        check(book, people, PER_CHAT)
        assert {r.status for r in rows} == {OutboxStatus.SENT}
        kinds = fault_kinds(w)
        unseen = sum(book.blind.values())
        assert book.duplicates <= unseen <= could_duplicate(kinds) + unprovoked_timeouts(w)
        held = holds(w, RETRY_AFTER)
        assert held.violations == [], f"sent during a retry_after hold: {held.violations[:3]}"
        if name in ("429", "mixed"):
            assert held.told > 0, "no 429 reached the sender"
        if name in ("timeout", "mixed"):
            assert any(c.get("client_gone") for c in sends(w)), "the bot never timed out"
        assert answered < book.last_first_delivery, "the reply to /help waited for the whole wave"
        # Two /help, two answers: more only if a reply itself went out unseen.  (An update that
        # getUpdates handed out twice, its first reply spoiled, must not be answered twice.)
        probe_blind = sum(blind(c) for c in sends(w) if int(c["params"]["chat_id"]) == PROBE)
        assert len(await w.quiet(PROBE)) <= probe_blind

        report(record_property, name, {
            "messages": CHATS * PER_CHAT, "chats": CHATS, "send_calls": len(sends(w)),
            "faults": dict(sorted(kinds.items())), "faults_injected": w.emu.counters["faults_injected"],
            "timeouts": sum(1 for c in sends(w) if c.get("client_gone")),
            "unprovoked_timeouts": unprovoked_timeouts(w),
            "told_429": held.told, "hold_violations": len(held.violations),
            "peak_sends_1s_after_hold": held.peak_after,
            "blind_executions": unseen, "duplicates": book.duplicates,
            "help_answered_s": round(answered - asked, 2),
            "drain_s": round(book.last_first_delivery - written, 2),
        })


async def test_photo_pushes_through_a_429_send_no_photo_twice(tmp_path: Path, record_property) -> None:  # noqa: ANN001
    """Pushes of two photos and a text (three outbox rows each) to six chats: a 429 storm comes
    once some pushes are half out, and one photo's reply is dropped after it went out (the one
    duplicate allowed)."""
    chats, per_chat = 6, 2
    async with TelegramWorld(tmp_path) as w:
        await crew(w, [PROBE])
        refs = [w.photo(PROBE, seed=seed)["photo"][-1]["file_id"] for seed in range(2 * per_chat)]
        await w.settle()
        photos = [refs[2 * n:2 * n + 2] for n in range(per_chat)]
        people = await crew(w, list(range(3001, 3001 + chats)), role=Role.SUPERVISOR)
        w.emu.fail_next(1, status=0, when="after", method="sendPhoto")
        written = await write_wave(w, people, "PH", per_chat, photos)
        await w.emu.wait_until(lambda: sum(1 for c in sends(w) if c["ok"] and c["method"] == "sendPhoto") >= 8,
                               timeout=10, what="photos under way")
        w.emu.storm(1.5, status=429, retry_after=1)
        rows = await all_sent(w, "PH", chats * per_chat * 3)
        await w.settle(timeout=10)
        await replies_settled(w)

        book = ledger(w, "PH", set(people))
        check(book, people, per_chat, photos)
        kinds = fault_kinds(w)
        photo_dups = sum(n - 1 for (_, item), n in book.deliveries.items() if item.startswith("photo:"))
        assert photo_dups <= kinds["drop/after"] == 1
        held = holds(w, 1)
        assert held.told > 0 and held.violations == []
        assert {r.status for r in rows} == {OutboxStatus.SENT}
        def push_of(call: dict[str, Any]) -> tuple[int, int]:  # (chat, push number)
            chat, photo = int(call["params"]["chat_id"]), call["params"].get("photo")
            return chat, refs.index(photo) // 2 if photo else int(TEXT.fullmatch(call["params"]["text"])[3])

        # pushes the 429 cut in two: part of the push was out when another part was refused
        wave = [c for c in sends(w) if c["params"].get("photo") in refs
                or ((m := TEXT.fullmatch(c["params"].get("text", ""))) and m[1] == "PH")]
        cut = {push_of(refused) for refused in wave if refused["reply_status"] == 429
               if any(c["ok"] and c["done"] < refused["at"] and push_of(c) == push_of(refused) for c in wave)}
        assert cut, "the 429 never came in the middle of a push"
        report(record_property, "photos", {
            "pushes": chats * per_chat, "rows": len(rows), "faults": dict(sorted(kinds.items())),
            "told_429": held.told, "hold_violations": len(held.violations), "pushes_cut_by_429": len(cut),
            "photo_duplicates": photo_dups, "duplicates": book.duplicates,
            "drain_s": round(book.last_first_delivery - written, 2),
        })


# -- defects this file found (fixed) ----------------------------------------------------------

async def test_after_a_429_hold_the_sender_keeps_to_the_overall_rate(
        tmp_path: Path, record_property) -> None:  # noqa: ANN001
    chats, per_chat = 40, 2
    async with TelegramWorld(tmp_path) as w:
        people = await crew(w, list(range(4001, 4001 + chats)))
        w.emu.enable_rate_limits(RateLimits(overall=(TELEGRAM_PER_SECOND, 1.0), private_chat=(1000, 1.0),
                                            group_chat=(1000, 60.0)))
        written = await write_wave(w, people, "RT", per_chat)
        await w.emu.wait_until(lambda: sum(1 for c in sends(w) if c["ok"]) >= 10, timeout=10, what="wave under way")
        w.emu.storm(0.5, status=429, retry_after=RETRY_AFTER, method="sendMessage")
        rows = await all_sent(w, "RT", chats * per_chat)
        await w.settle(timeout=10)
        calls = sends(w)
        last_storm_429 = max(c["answered"] for c in calls if (c.get("fault") or {}).get("status") == 429)
        resumed = min(c["at"] for c in calls if c["at"] > last_storm_429 + 1.0)
        report(record_property, "rate_after_hold", {
            "messages": chats * per_chat, "told_429": holds(w, RETRY_AFTER).told,
            "sends_in_first_100ms_after_hold": sum(1 for c in calls if resumed <= c["at"] < resumed + 0.1),
            "peak_sends_any_1s": peak_per_second(calls), "flood_429s": w.emu.counters["rate_limited"],
            "drain_s": round(max(c["done"] for c in calls if c["ok"]) - written, 2),
        })
        assert {r.status for r in rows} == {OutboxStatus.SENT}
        assert peak_per_second(calls) <= TELEGRAM_PER_SECOND and w.emu.counters["rate_limited"] == 0


async def test_the_poller_honours_retry_after_on_getupdates(tmp_path: Path) -> None:
    async with TelegramWorld(tmp_path) as w:
        await crew(w, [PROBE])
        w.emu.fail_next(1, status=429, retry_after=3, method="getUpdates")
        w.say(PROBE, "/help")  # the long poll in flight returns it; the next getUpdates meets the 429
        await w.expect(PROBE, 1, timeout=10)
        refused = await w.emu.wait_until(
            lambda: [c for c in w.emu.api_calls("getUpdates") if c["reply_status"] == 429], what="the 429")
        w.say(PROBE, "/help")  # ends the next long poll at once, whenever it began
        await w.expect(PROBE, 1, timeout=10)
        again = [c for c in w.emu.api_calls("getUpdates") if c["at"] > refused[0]["answered"]]
        waited = again[0]["at"] - refused[0]["answered"]
        print(f"\n[storms:getUpdates] retry_after=3 s; polled again after {waited:.2f} s")
        assert waited >= 3 - 0.05
