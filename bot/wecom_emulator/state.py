"""Everything the emulated WeCom remembers: one corp, one self-built app, its members and 微信客服.

Why a fake clock: token TTLs (7200 s), response codes (72 h), recall (24 h), media (3 days), the
per-member limits (30/min, 1000/h), the kf window (48 h) and its codes (20 s, 10 min) are all
long; tests jump over them with ``advance_clock(seconds)``. The clock is real time plus an
offset, so real seconds count too and a jump never goes backwards.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
ALNUM = string.ascii_letters + string.digits


def random_id(length: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class FakeClock:
    """Real time plus an offset that only grows — or, following another clock (:meth:`follow`),
    that clock's reading."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._source: Callable[[], float] | None = None
        self._reading = self._anchor = 0.0
        self._last = self._ticks = time.time()

    def now(self) -> float:
        if self._source is None:
            return time.time() + self.offset
        reading, real = self._source(), time.time()
        if reading != self._reading:
            self._reading, self._anchor = reading, real
        return reading + (real - self._anchor)

    def follow(self, source: Callable[[], float] | None) -> None:
        """Tell the time by ``source`` (unix seconds; None: real time plus the offset again): the
        bot's clock in a test that sets it.  A reading that stays the same (a clock a test holds
        still) still ticks here in real seconds from the moment it was first seen, as WeCom's own
        time would while a test runs; a reading that moves (forward or back) is taken as it is."""
        self._source = source
        self._reading = self._anchor = 0.0

    def ticks(self) -> float:
        """Seconds for rate windows (the per-member limits): :meth:`now`, except that it never goes
        back — a followed clock set back leaves what was counted counted, as real time would."""
        now = self.now()
        if now > self._last:
            self._ticks += now - self._last
        self._last = now
        return self._ticks

    def advance(self, seconds: float) -> float:
        if self._source is not None:
            raise RuntimeError("the emulator follows another clock: move that one")
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        return self.now()


class Changed:
    """Wakes waiters whenever the world changed; waits re-check their predicate."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_for(self, predicate: Callable[[], T], timeout: float) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            remaining = deadline - loop.time()
            if result or remaining <= 0:
                return result
            if self._event is None:
                self._event = asyncio.Event()
            try:
                await asyncio.wait_for(self._event.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass


@dataclass
class Member:
    userid: str  # lower-cased: userids are case-insensitive, responses lower-case (§7)
    name: str
    departments: list[int] = field(default_factory=lambda: [1])
    tags: list[int] = field(default_factory=list)


@dataclass
class Token:
    value: str
    kind: str  # "app" or "kf": which secret issued it
    expires_at: float
    invalid: bool = False


@dataclass
class Sent:
    """One message/send call that was accepted."""

    msgid: str
    msgtype: str
    payload: dict[str, Any]  # the msgtype's object as delivered (text truncated)
    at: float
    recipients: list[str]  # delivered to (dropped ones excluded)
    task_id: str | None = None
    recalled: bool = False


@dataclass
class CardView:
    """One member's copy of one template card: updates apply per member (§3.3)."""

    task_id: str
    userid: str
    msgid: str
    card: dict[str, Any]
    disabled: bool = False
    replace_name: str | None = None
    clicks: list[dict[str, Any]] = field(default_factory=list)
    updated_at: float | None = None


@dataclass
class ResponseCode:
    code: str
    task_id: str
    issued_at: float
    origin: str  # "send" (covers every recipient) or "click" (issued to the clicking member)
    userid: str | None = None
    used_at: float | None = None


@dataclass
class Media:
    media_id: str
    type: str
    data: bytes
    filename: str
    content_type: str
    created_at: float


@dataclass
class KfCustomer:
    external_userid: str
    nickname: str
    state: int = 0  # service state: 0 untreated, 1 bot, 2 queue, 3 human, 4 ended
    servicer: str = ""
    last_customer_msg_at: float | None = None
    sends_since: int = 0  # send_msg calls since the last customer message
    last_welcome_at: float | None = None
    open_kfid: str = ""


@dataclass
class KfCode:
    """A welcome_code / msg_code for send_msg_on_event: short-lived, single use."""

    code: str
    open_kfid: str
    external_userid: str
    expires_at: float
    used: bool = False


@dataclass
class World:
    corp_id: str
    agent_id: int
    clock: FakeClock = field(default_factory=FakeClock)
    changed: Changed = field(default_factory=Changed)
    members: dict[str, Member] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    current_token: dict[str, str] = field(default_factory=dict)  # kind -> token value
    sent: dict[str, Sent] = field(default_factory=dict)  # msgid -> message
    inbox: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # userid -> deliveries
    send_times: dict[str, deque[float]] = field(default_factory=dict)  # userid -> delivery times
    duplicates: dict[str, float] = field(default_factory=dict)  # request digest -> last sent
    task_ids: dict[str, str] = field(default_factory=dict)  # task_id -> msgid
    cards: dict[tuple[str, str], CardView] = field(default_factory=dict)
    codes: dict[str, ResponseCode] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    menu: dict[str, Any] | None = None
    kf_accounts: dict[str, str] = field(default_factory=dict)  # open_kfid -> name
    contact_ways: dict[str, tuple[str, str]] = field(default_factory=dict)  # enc_scene -> (kfid, scene)
    customers: dict[str, KfCustomer] = field(default_factory=dict)
    kf_stream: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # open_kfid -> msg_list
    kf_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (kfid, expires)
    kf_codes: dict[str, KfCode] = field(default_factory=dict)
    kf_outbox: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # ext userid -> msgs
    kf_msgids: set[str] = field(default_factory=set)
    oauth_codes: dict[str, tuple[dict[str, Any], float, bool]] = field(default_factory=dict)
    violations: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def now(self) -> float:
        return self.clock.now()

    def ensure_member(self, userid: str, name: str | None = None) -> Member:
        key = userid.lower()
        member = self.members.get(key)
        if member is None:
            member = self.members[key] = Member(key, name or userid)
        elif name:
            member.name = name
        return member

    def violation(self, kind: str, detail: str, **extra: Any) -> None:
        """Something WeCom would accept but that breaks a rule the bot must keep (recorded, not refused)."""
        self.violations.append({"kind": kind, "detail": detail, "at": self.now(), **extra})
        self.changed.notify()

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + by

    def log_call(self, record: dict[str, Any]) -> None:
        self.calls.append(record)
        del self.calls[:-10_000]
        self.changed.notify()

    def new_msgid(self) -> str:
        return random_id(43, ALNUM + "_-")
