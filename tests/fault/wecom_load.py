"""The WeCom run's load and its attacker, through the WeCom emulator's device side and raw HTTP.

**Engineers** (members of the app) repeat the Telegram load's cycle (:mod:`tests.fault.load`):
``/checkin``, one to three items (a numbered note first, then notes or photos), then **Done** —
pressed on the newest card in the engineer's chat that carries ``done:TICKET`` (WeCom refuses a
click on a card the member does not have, so the engineer waits for the bot's card, as a person
would).  Every message is one callback; WeCom delivers it with up to 3 re-deliveries (5 s without
an answer, or any status but 200, counts as failed), each with a new nonce and ciphertext.  The
delivery record says whether some attempt got a 200: *confirmed*; a callback whose every attempt
failed is *given up by WeCom* (the bot was down the whole time) and never reached Fieldbot.

**The attacker** posts to the bot's callback URL beside the load, built with the callback crypto
(the emulator's own, the key from its settings):

* ``replay`` — a confirmed callback's plaintext sealed and signed afresh (what WeCom's own
  re-delivery after a slow answer looks like): accepted, its effect must not happen twice;
* ``stale`` — the same, signed with a timestamp 11 minutes old (a replay caught on the wire):
  refused (400), nothing stored;
* ``bad signature`` — a new note ``[FORGED:…]`` with one character of the signature changed:
  refused (403), nothing stored;
* ``wrong corp`` — a new note sealed for another corp id, correctly signed: refused, nothing stored.
"""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.fault.load import Cycle, Probe, Sent, png
from tests.fault.procs import Emulator
from tests.fault.seed import Seat, wecom_userid

ATTACKS = ("replay", "stale", "bad signature", "wrong corp")
STALE = 11 * 60


def done_card(messages: list[dict], key: str, since: int, skip: set) -> str | None:
    """The task id of the newest card after index ``since`` with a ``key`` button (not in ``skip``)."""
    for message in reversed(messages[since:]):
        card = message.get("template_card") or {}
        if card.get("task_id") not in skip and any(b.get("key") == key for b in card.get("button_list") or []):
            return card.get("task_id")
    return None


class WecomLoad:
    def __init__(self, emu: Emulator, seats: list[Seat], *, rate: float, seed: int, tag: str,
                 photo_share: float = 0.3, card_timeout: float = 90.0):
        self.emu = emu
        self.seats = seats
        self.gap = len(seats) / rate
        self.seed = seed
        self.tag = tag
        self.photo_share = photo_share
        self.card_timeout = card_timeout
        self.sent: list[Sent] = []
        self.cycles: list[Cycle] = []
        self.records: dict[int, dict] = {}  # delivery id → the emulator's delivery record
        self.stop = asyncio.Event()
        self.anomalies: list[str] = []
        self.broken_cycles: list[Cycle] = []
        self._photo_seq = 0

    async def run(self) -> None:
        await asyncio.gather(*(self._engineer(seat) for seat in self.seats))

    async def _engineer(self, seat: Seat) -> None:
        rng = random.Random(f"{self.seed}:{seat.uid}")
        user = wecom_userid(seat.uid)

        async def pause() -> None:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * self.gap)

        await asyncio.sleep(rng.uniform(0, self.gap))
        index = 0
        while not self.stop.is_set():
            cycle = Cycle(seat.uid, index, seat.ticket_id)
            self.cycles.append(cycle)
            since = len(await self.emu.call("messages_to", userid=user))
            await self.text(user, seat.uid, "/checkin", "checkin", cycle)
            await pause()
            for item in range(rng.randint(1, 3)):
                note = f"[{self.tag}:{seat.uid}:{index}:{item}] valve {rng.randint(1, 99)} checked"
                if item == 0 or rng.random() >= self.photo_share:
                    last = await self.text(user, seat.uid, note, "note", cycle)
                else:
                    last = await self.photo(user, seat.uid, cycle)
                cycle.items.append(last)
                await pause()
            if self.broken(cycle):  # WeCom gave up on a message of it: no Done will come
                await self.abandon(user, seat.uid, cycle)
            else:
                cycle.done = await self.press_done(user, seat, since, cycle)
                if cycle.done is None or self.broken(cycle):
                    await self.abandon(user, seat.uid, cycle)
            await pause()
            index += 1

    def _record(self, kind: str, uid: int, at: float, text: str | None, record: dict, cycle: Any) -> Sent:
        self.records[record["id"]] = record
        sent = Sent(kind, uid, at, text, message_id=record["id"], cycle=cycle)
        self.sent.append(sent)
        return sent

    async def text(self, user: str, uid: int, text: str, kind: str, cycle: Any = None) -> Sent:
        at = time.time()
        record = await self.emu.call("user_text", userid=user, text=text, http_timeout=120)
        return self._record(kind, uid, at, text if kind == "note" else None, record, cycle)

    async def photo(self, user: str, uid: int, cycle: Any = None) -> Sent:
        self._photo_seq += 1
        at = time.time()
        record = await self.emu.call("user_image", userid=user, http_timeout=120,
                                     data_base64=base64.b64encode(png(self._photo_seq)).decode())
        return self._record("photo", uid, at, None, record, cycle)

    async def press_done(self, user: str, seat: Seat, since: int, cycle: Cycle) -> Sent | None:
        """Wait for the card with **Done** (the bot may be restarting), then press it."""
        key = f"done:{seat.ticket_id}"
        deadline, skip = time.monotonic() + self.card_timeout, set()
        while time.monotonic() < deadline:
            task_id = done_card(await self.emu.call("messages_to", userid=user), key, since, skip)
            if task_id is not None:
                at = time.time()
                try:
                    record = await self.emu.call("card_click", userid=user, task_id=task_id, key=key,
                                                 http_timeout=120)
                except RuntimeError:  # greyed out (the bot finished it): look for a newer one
                    skip.add(task_id)
                    continue
                return self._record("done", seat.uid, at, None, record, cycle)
            await asyncio.sleep(0.5)
        self.anomalies.append(f"{user} cycle {cycle.index}: no card with Done within {self.card_timeout:.0f} s")
        return None

    def broken(self, cycle: Cycle) -> bool:
        """A message of the cycle never reached the bot (WeCom gave up on all its attempts)."""
        return any(not self.records[s.message_id].get("delivered") for s in self.sent if s.cycle is cycle)

    async def abandon(self, user: str, uid: int, cycle: Cycle) -> None:
        """What a person does when the bot did not get part of a check-in: ``/cancel`` it (sent
        until it gets through) and start the next one.  The cycle is left out of the effect
        checks (:meth:`confirmed`); its messages that did reach the bot are still checked as
        stored and handled."""
        self.broken_cycles.append(cycle)
        await self.text_through(user, uid, "/cancel", "cancel", cycle)

    async def text_through(self, user: str, uid: int, text: str, kind: str, cycle: Any = None) -> Sent:
        """Send ``text``, and again while WeCom gives up on it (the bot was down): the first send."""
        first = sent = await self.text(user, uid, text, kind, cycle)
        for _ in range(20):
            if sent.message_id in self.delivered_ids():
                return first
            await asyncio.sleep(1.0)
            sent = await self.text(user, uid, text, kind, cycle)
        self.anomalies.append(f"{user}: {text} never got through to the bot")
        return first

    def delivered_ids(self) -> set[int]:
        return {i for i, r in self.records.items() if r.get("delivered")}

    def confirmed(self) -> set:
        """Keys of the delivered messages, except those of cycles WeCom broke (:meth:`abandon`)."""
        broken = {id(c) for c in self.broken_cycles}
        return {s.key for s in self.sent if self.records[s.message_id].get("delivered") and id(s.cycle) not in broken}

    def given_up(self) -> list[Sent]:
        return [s for s in self.sent if not self.records[s.message_id].get("delivered")]


async def wecom_probe(load: WecomLoad, restart: int, uid: int, timeout: float) -> Probe:
    """``/help`` from a prober member right after a restart; :attr:`Probe.answered` when answered."""
    user = wecom_userid(uid)
    p = Probe(restart, uid, await load.text_through(user, uid, "/help", "help"))
    p.watch(load.emu, timeout, userid=user)
    return p


@dataclass
class Attack:
    kind: str
    at: float
    status: int | None  # None: no answer (the bot was down)
    marker: str | None = None  # a forged note's marker
    plaintext: str | None = None


@dataclass
class Attacker:
    """Posts forged, stale and replayed callbacks to the bot while the load runs."""

    url: str
    settings: dict[str, Any]
    load: WecomLoad
    seed: int
    interval: float = 1.0
    attacks: list[Attack] = field(default_factory=list)

    def _crypto(self, corp_id: str | None = None):  # noqa: ANN202
        from bot.wecom_emulator.crypto import DeviceCrypto

        return DeviceCrypto(self.settings["token"], self.settings["encoding_aes_key"],
                            corp_id or self.settings["corp_id"])

    async def run(self, stop: asyncio.Event) -> None:
        rng = random.Random(f"attacker:{self.seed}")
        async with aiohttp.ClientSession() as session:
            n = 0
            while not stop.is_set():
                await asyncio.sleep(rng.uniform(0.5, 1.5) * self.interval)
                confirmed = [r for r in self.load.records.values() if r.get("delivered")]
                kind = ATTACKS[n % len(ATTACKS)]
                n += 1
                if kind in ("replay", "stale"):
                    if not confirmed:
                        continue
                    plaintext, marker = rng.choice(confirmed)["plaintext"], None
                else:
                    seat = rng.choice(self.load.seats)
                    marker = f"FORGED:{seat.uid}:{n}"
                    plaintext = (f"<xml><ToUserName><![CDATA[{self.settings['corp_id']}]]></ToUserName>"
                                 f"<FromUserName><![CDATA[{wecom_userid(seat.uid)}]]></FromUserName>"
                                 f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                                 f"<Content><![CDATA[[{marker}] forged note]]></Content>"
                                 f"<MsgId>{secrets.randbits(63)}</MsgId>"
                                 f"<AgentID>{self.settings['agent_id']}</AgentID></xml>")
                status = await self._post(session, kind, plaintext)
                self.attacks.append(Attack(kind, time.time(), status, marker, plaintext))

    async def _post(self, session: aiohttp.ClientSession, kind: str, plaintext: str) -> int | None:
        crypto = self._crypto("wwforgedcorp0000001" if kind == "wrong corp" else None)
        stamp = str(int(time.time()) - (STALE if kind == "stale" else 0))
        nonce = str(secrets.randbelow(10**10))
        encrypt = crypto.seal(plaintext)
        signature = crypto.signature(stamp, nonce, encrypt)
        if kind == "bad signature":
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        envelope = (f"<xml><ToUserName><![CDATA[{self.settings['corp_id']}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                    f"<AgentID><![CDATA[{self.settings['agent_id']}]]></AgentID></xml>")
        params = {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}
        try:
            async with session.post(self.url, params=params, data=envelope.encode(),
                                    timeout=aiohttp.ClientTimeout(total=6)) as resp:
                return resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for a in self.attacks:
            by = out.setdefault(a.kind, {})
            key = "no answer" if a.status is None else str(a.status)
            by[key] = by.get(key, 0) + 1
        return out
