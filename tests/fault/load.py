"""The load: engineers doing progress check-ins at a steady rate, through the emulator's user side.

Each engineer repeats a cycle — ``/checkin``, one to three items (a text note first, then notes
or photos, some photos captioned with a note), then **Done** — pausing between messages so that
all engineers together send about ``rate`` updates per second.  The load is open-loop: nobody
waits for the bot's answers (a phone keeps sending while the bot is down; the updates wait at
Telegram).  Every note is unique and numbered, ``[TAG:UID:CYCLE:ITEM]``, so the check-in that must
hold it can be found afterwards.  **Done** is pressed with ``strict=False`` on the engineer's own
last message (the bot's "got it" with the button may not have arrived yet), carrying the button's
data ``done:TICKET``, as the real button does.

Every update the harness makes is recorded (:class:`Sent`) with the key the emulator's pending
list shows it by, so "confirmed" can be decided from outside at the end.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fault.procs import Emulator
from tests.fault.seed import Seat


def png(seed: int) -> bytes:
    from bot.stage import png as stage_png

    return stage_png(seed)


@dataclass
class Sent:
    """One update the harness queued at the emulator."""

    kind: str  # "checkin" | "note" | "photo" | "done" | "help"
    uid: int
    at: float
    text: str | None = None  # the note (a photo's caption counts as a note)
    message_id: int | None = None
    callback_id: str | None = None
    cycle: Any = None

    @property
    def key(self) -> tuple:
        return ("cb", self.callback_id) if self.callback_id else ("msg", self.uid, self.message_id)


def update_key(update: dict) -> tuple:
    """The :attr:`Sent.key` of an update in the emulator's pending list."""
    if "callback_query" in update:
        return ("cb", update["callback_query"]["id"])
    message = update.get("message") or {}
    return ("msg", (message.get("chat") or {}).get("id"), message.get("message_id"))


@dataclass
class Cycle:
    uid: int
    index: int
    ticket_id: int
    items: list[Sent] = field(default_factory=list)
    done: Sent | None = None

    def notes(self, confirmed: set | None = None) -> list[str]:
        return [s.text for s in self.items if s.text and (confirmed is None or s.key in confirmed)]

    def photos(self, confirmed: set | None = None) -> int:
        return sum(1 for s in self.items if s.kind == "photo" and (confirmed is None or s.key in confirmed))


class Load:
    def __init__(self, emu: Emulator, seats: list[Seat], *, rate: float, seed: int, tag: str,
                 photo_share: float = 0.3):
        self.emu = emu
        self.seats = seats
        self.gap = len(seats) / rate  # one engineer's mean pause between messages
        self.seed = seed
        self.tag = tag
        self.photo_share = photo_share
        self.sent: list[Sent] = []
        self.cycles: list[Cycle] = []
        self.stop = asyncio.Event()
        self._photo_seq = 0

    async def run(self) -> None:
        """Until :attr:`stop` is set; each engineer then finishes the cycle in hand (with Done)."""
        await asyncio.gather(*(self._engineer(seat) for seat in self.seats))

    async def _engineer(self, seat: Seat) -> None:
        rng = random.Random(f"{self.seed}:{seat.uid}")

        async def pause() -> None:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * self.gap)

        await asyncio.sleep(rng.uniform(0, self.gap))
        index = 0
        while not self.stop.is_set():
            cycle = Cycle(seat.uid, index, seat.ticket_id)
            self.cycles.append(cycle)
            last = await self.text(seat.uid, "/checkin", "checkin", cycle)
            await pause()
            for item in range(rng.randint(1, 3)):
                note = f"[{self.tag}:{seat.uid}:{index}:{item}] valve {rng.randint(1, 99)} checked"
                if item == 0 or rng.random() >= self.photo_share:
                    last = await self.text(seat.uid, note, "note", cycle)
                else:
                    last = await self.photo(seat.uid, note if rng.random() < 0.5 else None, cycle)
                cycle.items.append(last)
                await pause()
            cycle.done = await self.press(seat.uid, last.message_id, f"done:{seat.ticket_id}", cycle)
            await pause()
            index += 1

    # -- single updates ------------------------------------------------------------------------
    async def text(self, uid: int, text: str, kind: str, cycle: Any = None) -> Sent:
        at = time.time()
        message = await self.emu.call("send_text", user_id=uid, text=text)
        sent = Sent(kind, uid, at, text if kind == "note" else None, message_id=message["message_id"], cycle=cycle)
        self.sent.append(sent)
        return sent

    async def photo(self, uid: int, caption: str | None, cycle: Any = None) -> Sent:
        self._photo_seq += 1
        at = time.time()
        kwargs: dict[str, Any] = {"caption": caption} if caption else {}
        message = await self.emu.call("send_photo", user_id=uid,
                                      data_base64=base64.b64encode(png(self._photo_seq)).decode(), **kwargs)
        sent = Sent("photo", uid, at, caption, message_id=message["message_id"], cycle=cycle)
        self.sent.append(sent)
        return sent

    async def press(self, uid: int, message_id: int, data: str, cycle: Any = None) -> Sent:
        at = time.time()
        callback_id = await self.emu.call("press_button", user_id=uid, message_id=message_id, data=data,
                                          strict=False)
        sent = Sent("done", uid, at, callback_id=callback_id, cycle=cycle)
        self.sent.append(sent)
        return sent


@dataclass
class Probe:
    """``/help`` from a prober right after a restart, and when its answer arrived."""

    restart: int
    uid: int
    sent: Sent
    answered: float | None = None
    cut_short: bool = False  # the incarnation it was sent to was killed before answering
    watcher: asyncio.Task | None = None

    @property
    def latency(self) -> float | None:
        return None if self.answered is None else self.answered - self.sent.at

    def watch(self, emu: Emulator, timeout: float, **chat: Any) -> None:
        """Start watching the prober's chat (``chat``: the emulator's way to name it) for the answer."""
        async def watch() -> None:
            try:
                await emu.call("wait_for_messages", count=1, timeout=timeout, http_timeout=timeout + 30, **chat)
            except TimeoutError:
                return
            self.answered = time.time()

        self.watcher = asyncio.create_task(watch())


async def probe(load: Load, restart: int, uid: int, timeout: float) -> Probe:
    """Send ``/help`` and start watching for its answer (:attr:`Probe.answered`)."""
    p = Probe(restart, uid, await load.text(uid, "/help", "help"))
    p.watch(load.emu, timeout, chat_id=uid)
    return p
