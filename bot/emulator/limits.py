"""Injected faults and Telegram-like flood limits.

Why: the outbox sender must honour ``retry_after``, back off on 5xx and network errors and
stay under Telegram's limits (about 30 messages/s overall, 1/s per private chat, 20/min per
group). Those code paths only run when the server pushes back, so the emulator can do it on
demand: a fault switch for deterministic tests (:meth:`Limiter.add_fault`, the next N calls),
storms for fault suites (:meth:`Limiter.add_storm`, every or a seeded fraction of matching calls
for some seconds), and optional sliding-window limits, with counters so a test can assert
"the sender never got a 429" or "it got some and recovered".

A fault decides two things. Whether the method runs: ``when="before"`` (it does not; nothing
is delivered) or ``when="after"`` (it runs for real, the message is stored, and only the reply
is spoiled: the case where a client cannot know its message went out). And what the client
gets: an error reply (``status`` >= 400), no reply at all (``status=0``, :data:`DROP`: the
connection is closed), or the real reply late (``status=-1``, :data:`SLOW`, with ``delay``
seconds). ``delay`` also holds an error or a drop for that long.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from .errors import ApiError, server_error, too_many_requests

# Methods that put a message into a chat and therefore count against flood limits.
SENDING_METHODS_EXTRA = {"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"}
DROP = 0  # fault status: close the connection without an HTTP response
SLOW = -1  # fault status: the real reply, after ``delay`` seconds
WHEN = ("before", "after")


def is_sending_method(method: str) -> bool:
    return (method.startswith("send") and method != "sendChatAction") or method in SENDING_METHODS_EXTRA


@dataclass
class Injection:
    """What a fault does to a matching call (see the module doc); ``source`` names the knob."""

    status: int = 429
    retry_after: int = 1
    method: str | None = None  # None = any method (getUpdates included)
    description: str | None = None
    delay: float = 0.0
    when: str = "before"
    source: str = "fail_next"

    def __post_init__(self) -> None:
        if not (self.status in (DROP, SLOW) or 400 <= self.status <= 599):
            raise ValueError("status must be an HTTP error code (400-599), 0 (drop the connection) "
                             "or -1 (the real reply after `delay` seconds)")
        if self.when not in WHEN:
            raise ValueError(f"when must be one of {WHEN}")
        if self.delay < 0 or (self.status == SLOW and self.delay <= 0):
            raise ValueError("delay must be >= 0, and > 0 with status=-1")
        if self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")

    def applies_to(self, method: str) -> bool:
        return self.method is None or self.method.lower() == method.lower()

    def error(self) -> ApiError:
        """The error reply (for ``DROP``: the outcome the call log records, never sent)."""
        if self.status == DROP:
            return ApiError(DROP, self.description or "Connection dropped (injected fault)")
        if self.status == 429:
            return too_many_requests(self.retry_after)
        if self.status >= 500:
            return server_error(self.status, self.description)
        return ApiError(self.status, self.description or f"Error {self.status}")

    def describe(self) -> dict:
        """For the call log: ``{source, status, when, delay}``."""
        return {"source": self.source, "status": self.status, "when": self.when, "delay": self.delay}


@dataclass
class Fault(Injection):
    """Make the next ``remaining`` matching calls fail (``fail_next``)."""

    remaining: int = 1

    def matches(self, method: str) -> bool:
        return self.remaining > 0 and self.applies_to(method)


@dataclass
class Storm(Injection):
    """Until ``until`` (monotonic clock), fail matching calls; a ``ratio`` below 1 picks which
    ones with a seeded generator, so the same call sequence fails the same way every run."""

    until: float = 0.0
    ratio: float = 1.0
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.ratio <= 1:
            raise ValueError("ratio must be in (0, 1]")
        self.source = "storm"
        self.rng = random.Random(self.seed)

    def active(self, clock: float) -> bool:
        return clock < self.until

    def hits(self, method: str) -> bool:
        """Whether this call is one of the storm's victims (draws from the generator)."""
        return self.applies_to(method) and (self.ratio >= 1 or self.rng.random() < self.ratio)


@dataclass(frozen=True)
class RateLimits:
    """Each limit is ``(max_messages, window_seconds)``; Telegram's defaults."""

    overall: tuple[int, float] = (30, 1.0)
    private_chat: tuple[int, float] = (1, 1.0)
    group_chat: tuple[int, float] = (20, 60.0)


@dataclass
class Counters:
    """What the server pushed back with, for assertions and the demo's status line."""

    too_many_requests: int = 0  # every 429 sent, injected or rate-limited
    rate_limited: int = 0  # 429s caused by the rate limits
    faults_injected: int = 0  # calls hit by fail_next() or storm(), whatever the fault
    storm_faults: int = 0  # of those, hit by a storm
    connections_dropped: int = 0  # faults with status 0: no HTTP response at all
    replies_delayed: int = 0  # faults with a delay (status -1, or an error/drop held back)
    faulted_after_execution: int = 0  # when="after": the method ran, its reply was spoiled
    rate_limited_by_chat: dict[int, int] = field(default_factory=dict)

    def count_fault(self, fault: Injection) -> None:
        self.faults_injected += 1
        self.storm_faults += fault.source == "storm"
        self.too_many_requests += fault.status == 429
        self.connections_dropped += fault.status == DROP
        self.replies_delayed += fault.delay > 0
        self.faulted_after_execution += fault.when == "after"

    def as_dict(self) -> dict:
        return {"too_many_requests": self.too_many_requests, "rate_limited": self.rate_limited,
                "faults_injected": self.faults_injected, "storm_faults": self.storm_faults,
                "connections_dropped": self.connections_dropped,
                "replies_delayed": self.replies_delayed,
                "faulted_after_execution": self.faulted_after_execution,
                "rate_limited_by_chat": {str(k): v for k, v in self.rate_limited_by_chat.items()}}


class Limiter:
    """Holds the fault queue, the storms, the optional rate limits and the counters."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.storms: list[Storm] = []
        self.limits: RateLimits | None = None
        self.counters = Counters()
        self._overall: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = defaultdict(deque)

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def add_storm(self, storm: Storm) -> None:
        self.storms.append(storm)

    def clear_faults(self) -> None:
        """Forget pending fail_next() faults and end every storm now."""
        self.faults.clear()
        self.storms.clear()

    def take_fault(self, method: str) -> Injection | None:
        """The fault that hits this call, counted, or None: a pending fail_next() first
        (consuming one of its repetitions), else an active storm."""
        for fault in self.faults:
            if fault.matches(method):
                fault.remaining -= 1
                self.faults = [f for f in self.faults if f.remaining > 0]
                self.counters.count_fault(fault)
                return fault
        clock = time.monotonic()
        self.storms = [s for s in self.storms if s.active(clock)]
        for storm in self.storms:
            if storm.hits(method):
                self.counters.count_fault(storm)
                return storm
        return None

    def set_limits(self, limits: RateLimits | None) -> None:
        self.limits = limits
        self._overall.clear()
        self._per_chat.clear()

    def check_rate(self, chat_id: int, private: bool) -> None:
        """Raise 429 if one more message to ``chat_id`` would exceed a window."""
        if self.limits is None:
            return
        clock = time.monotonic()
        chat_limit = self.limits.private_chat if private else self.limits.group_chat
        chat_log = self._per_chat[chat_id]
        wait = max(_wait(self._overall, self.limits.overall, clock), _wait(chat_log, chat_limit, clock))
        if wait > 0:
            self.counters.too_many_requests += 1
            self.counters.rate_limited += 1
            self.counters.rate_limited_by_chat[chat_id] = self.counters.rate_limited_by_chat.get(chat_id, 0) + 1
            raise too_many_requests(max(1, math.ceil(wait)))

    def record_send(self, chat_id: int) -> None:
        """Count a message that was actually sent (failed sends do not use up the limit)."""
        if self.limits is None:
            return
        clock = time.monotonic()
        self._overall.append(clock)
        self._per_chat[chat_id].append(clock)


def _wait(log: deque[float], limit: tuple[int, float], clock: float) -> float:
    """Seconds until ``log`` has room under ``limit`` (0 if it has room now)."""
    count, window = limit
    while log and log[0] <= clock - window:
        log.popleft()
    if len(log) < count:
        return 0.0
    return log[len(log) - count] + window - clock
