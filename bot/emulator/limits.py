"""Injected faults and Telegram-like flood limits.

Why: the outbox sender must honour ``retry_after``, back off on 5xx and stay under Telegram's
limits (about 30 messages/s overall, 1/s per private chat, 20/min per group). Those code
paths only run when the server pushes back, so the emulator can do both on demand: a fault
switch for deterministic tests, and optional sliding-window limits with counters so a test
can assert "the sender never got a 429" or "it got some and recovered".
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from .errors import ApiError, server_error, too_many_requests

# Methods that put a message into a chat and therefore count against flood limits.
SENDING_METHODS_EXTRA = {"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"}


def is_sending_method(method: str) -> bool:
    return (method.startswith("send") and method != "sendChatAction") or method in SENDING_METHODS_EXTRA


@dataclass
class Fault:
    """Make the next ``remaining`` matching calls fail with ``status``."""

    remaining: int
    status: int = 429
    retry_after: int = 1
    method: str | None = None  # None = any method (getUpdates included)
    description: str | None = None

    def matches(self, method: str) -> bool:
        return self.remaining > 0 and (self.method is None or self.method.lower() == method.lower())

    def error(self) -> ApiError:
        if self.status == 429:
            return too_many_requests(self.retry_after)
        if self.status >= 500:
            return server_error(self.status, self.description)
        return ApiError(self.status, self.description or f"Error {self.status}")


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
    faults_injected: int = 0  # responses caused by fail_next()
    rate_limited_by_chat: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"too_many_requests": self.too_many_requests, "rate_limited": self.rate_limited,
                "faults_injected": self.faults_injected,
                "rate_limited_by_chat": {str(k): v for k, v in self.rate_limited_by_chat.items()}}


class Limiter:
    """Holds the fault queue, the optional rate limits and the counters."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.limits: RateLimits | None = None
        self.counters = Counters()
        self._overall: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = defaultdict(deque)

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def check_fault(self, method: str) -> None:
        """Raise the first matching injected fault, consuming one of its repetitions."""
        for fault in self.faults:
            if fault.matches(method):
                fault.remaining -= 1
                self.faults = [f for f in self.faults if f.remaining > 0]
                self.counters.faults_injected += 1
                error = fault.error()
                if error.code == 429:
                    self.counters.too_many_requests += 1
                raise error

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
