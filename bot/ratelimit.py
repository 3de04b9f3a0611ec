"""Pacing for outgoing messages: Telegram allows about 30 messages/s overall, 1/s per private
chat and 20/min per group; going over earns 429s and, repeated, a longer ban."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``acquire`` waits for one.

    Waiters are served by ``priority`` (lower first), then in arrival order: a person's reply
    (priority 0) goes out with the next token even while a thousand escalations wait (priority 1).
    One driver task hands out tokens, so a waiter costs a future, not a timer of its own.

    :meth:`hold` (a 429's ``retry_after``) hands out nothing until it ends and empties the
    bucket, so the waiters resume at the steady rate rather than all at once.
    """

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.tokens = self.burst
        self.clock = clock
        self.stamp = clock()
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task | None = None
        self.held_until = 0.0

    def hold(self, seconds: float) -> None:
        """No token for ``seconds``; afterwards the bucket refills from empty."""
        until = self.clock() + seconds
        if until > self.held_until:
            self.held_until = until
            self.tokens = 0.0
            self.stamp = until

    def _refill(self) -> None:
        now = self.clock()
        if now < self.held_until:
            return
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now

    async def acquire(self, priority: int = 1) -> None:
        self._refill()
        if not self._waiting and self.tokens >= 1 and self.clock() >= self.held_until:  # uncontended: no task switch
            self.tokens -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._seq), future))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await future

    async def _drive(self) -> None:
        while self._waiting:
            if (held := self.held_until - self.clock()) > 0:
                await asyncio.sleep(held)
                continue
            self._refill()
            if self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.rate)
                continue
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():  # a cancelled waiter gets no token
                self.tokens -= 1
                future.set_result(None)


class RecipientWindows:
    """At most ``n`` messages per ``seconds`` to one recipient, for each ``(n, seconds)`` window.

    For channels that drop what exceeds their per-recipient limits *silently* (WeCom: 30/min and
    1000/h to one member): the sender waits here instead of losing the message.  Per instance;
    with several instances each keeps its own count (so share the limits out in config).
    """

    def __init__(self, windows: tuple[tuple[int, float], ...], clock: Callable[[], float] = time.monotonic):
        self.windows = tuple(windows)
        self.clock = clock
        self._sent: dict[str, list[float]] = {}
        self._longest = max((seconds for _, seconds in self.windows), default=0.0)

    def wait_for(self, key: str) -> float:
        """Seconds until one more message to ``key`` fits every window (0: now)."""
        now = self.clock()
        sent = [t for t in self._sent.get(key, []) if t > now - self._longest]
        self._sent[key] = sent
        wait = 0.0
        for count, seconds in self.windows:
            recent = [t for t in sent if t > now - seconds]
            if len(recent) >= count:
                wait = max(wait, recent[len(recent) - count] + seconds - now)
        return wait

    async def acquire(self, key: str) -> None:
        while (wait := self.wait_for(key)) > 0:
            await asyncio.sleep(wait)
        self._sent.setdefault(key, []).append(self.clock())
