"""The outbox sender: delivers outbox rows through the channel adapters.

* Woken right after a commit that wrote rows (``wake()``), so replies go out at once; it also
  looks again when a delayed row (``not_before``) comes due and every few seconds for rows other
  instances wrote.  Rows left by a crash are simply still ``pending`` and go out on restart.
* Rows are claimed with a lease naming this instance (:mod:`bot.outbox_store`), so two instances
  never send one row; a dead instance's leases are released as soon as its heartbeat stops
  (:mod:`bot.instances`), a hung one's run out.  The unique ``dedupe_key`` means a row is never
  written twice.
* A row is marked sent in its own commit the moment the channel answered, ahead of everything
  else waiting for the database.  Delivery is at-least-once: a message goes out twice only if the
  process dies between the channel accepting it and that commit — inside the HTTP round trip or
  the one short UPDATE after it.
* Pacing comes from each channel (``adapter.pacing``): an overall token bucket per channel, an
  interval per chat (private or group, as the adapter tells them apart), and sliding windows per
  recipient for channels that drop what exceeds them silently (WeCom).  Messages to one chat go out
  in the order they were written.
* Priority: a reply to someone who just wrote takes the next token ahead of bulk pushes, and bulk
  rows are claimed a few seconds' worth at a time, so an escalation wave does not hold up the chat.
* A 429's ``retry_after`` holds the channel's bucket (then it refills from empty); network errors
  and 5xx back off exponentially; a permanent error (bot blocked, chat not found) marks the row
  failed, the identity unreachable, and tells the person's supervisor.
* A row that waited (quiet hours, a retry) is checked when it comes due: if what it was about no
  longer holds (``valid_if``, see :mod:`models.still`) it is dropped, not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.channels.base import ChannelAdapter
from bot.outbox_stamp import with_stamped_photos
from bot.outbox_store import INTERACTIVE, OutboxStore
from bot.ratelimit import RecipientWindows, TokenBucket
from handlers.channel import DeliveryError, Outbound
from handlers.service_report import resolve_document
from models.enums import Channel
from models.runtime import OutboxMessage

log = logging.getLogger(__name__)

#: A row this much older than its due time, or due later than written, waited: re-check it.
WAITED = timedelta(seconds=30)


@dataclass
class _Result:
    ok: bool
    external_id: str | None = None
    error: DeliveryError | None = None


class OutboxSender:
    def __init__(self, app, adapters: dict[Channel, ChannelAdapter], *, batch: int = 200,  # noqa: ANN001
                 idle_poll: float = 5.0, in_flight: int | None = None, media_root: Path | None = None,
                 instance_id: str | None = None):
        """``in_flight``: bulk rows queued in memory at most (default: four seconds' worth)."""
        self.app = app
        self.adapters = adapters
        self.store = OutboxStore(app, instance_id, media_root, batch)
        # A small burst: a full second's worth saved up plus a second's refill would let 2×rate
        # through in the first second of a wave, over Telegram's ~30/s.
        self.buckets = {ch: TokenBucket(a.pacing.overall_per_second, burst=min(a.pacing.overall_per_second, 5.0))
                        for ch, a in adapters.items()}
        self.windows = {ch: RecipientWindows(a.pacing.per_recipient) for ch, a in adapters.items()
                        if a.pacing.per_recipient}
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._queues: dict[tuple[Channel, str], asyncio.Queue[OutboxMessage]] = {}
        self._workers: dict[tuple[Channel, str], asyncio.Task] = {}
        self._inflight: set[int] = set()
        rate = sum(a.pacing.overall_per_second for a in adapters.values()) or 25.0
        self.in_flight = in_flight if in_flight is not None else max(20, int(rate * 4))
        self._backlog = False  # bulk rows were left in the table for want of room
        self._replies: dict[tuple[Channel, str], int] = {}  # interactive rows queued, per chat
        self._stopping = False
        self._sending: set[tuple[Channel, str]] = set()  # chats whose worker is sending a row now
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def wake(self) -> None:
        self._wake.set()

    # -- the loop -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Deliver until cancelled (workers cut short, as in a crash) or stopped (:meth:`stop`)."""
        try:
            while not self._stopping:
                try:
                    next_due = await self._claim_and_queue()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database is busy or gone: the rows wait in the table
                    log.warning("claiming outbox rows failed; trying again", exc_info=True)
                    next_due = self.app.clock.now() + timedelta(seconds=1)
                timeout = self.idle_poll
                if next_due is not None:
                    timeout = max(0.0, min(timeout, (next_due - self.app.clock.now()).total_seconds()))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self._wake.clear()
        except asyncio.CancelledError:
            workers = list(self._workers.values())
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise

    async def stop(self, timeout: float = 5.0) -> None:
        """A clean stop: claim nothing more, let each chat finish the message it is sending (and
        record it), hand the rest back to the table."""
        self._stopping = True
        self.wake()
        for key, task in list(self._workers.items()):
            if key not in self._sending:  # idle, waiting for rows: nothing to finish
                task.cancel()
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=timeout)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until nothing due is pending or in flight (tests, demo, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            self.wake()
            await asyncio.sleep(0.02)
            if not self._inflight and not await self.store.has_due():
                return

    async def _claim_and_queue(self):  # noqa: ANN202
        """Claim due rows (see :meth:`OutboxStore.claim`) and hand them to their chats' workers;
        returns when the next waiting row comes due."""
        claimed, self._backlog, later = await self.store.claim(self.in_flight - len(self._inflight), self._inflight)
        for row in claimed:
            if row.id in self._inflight:  # still queued here from an earlier claim: never twice
                continue
            self._inflight.add(row.id)
            key = (row.channel, row.chat_id)
            if row.purpose in INTERACTIVE:
                self._replies[key] = self._replies.get(key, 0) + 1
            if key not in self._queues:
                self._queues[key] = asyncio.Queue()
                self._workers[key] = asyncio.create_task(self._chat_worker(key))
            self._queues[key].put_nowait(row)
        return later

    # -- one chat -----------------------------------------------------------------------------
    async def _chat_worker(self, key: tuple[Channel, str]) -> None:
        """Sends one chat's rows in order, paced for that chat; exits when idle."""
        queue = self._queues[key]
        adapter = self.adapters.get(key[0])
        interval = adapter.chat_interval(key[1]) if adapter is not None else 0.0
        pacing = TokenBucket(1 / interval, burst=1) if interval > 0 else None
        try:
            while not self._stopping:
                try:
                    row = await asyncio.wait_for(queue.get(), timeout=5.0)
                except asyncio.TimeoutError:
                    return
                self._sending.add(key)
                try:
                    ok = await self._send_one(key, row, pacing)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database is busy or gone: leave the chat to a later claim
                    log.warning("outbox row %s: database trouble; its chat is claimed again later", row.id,
                                exc_info=True)
                    rest = [row] + [queue.get_nowait() for _ in range(queue.qsize())]
                    with contextlib.suppress(Exception):
                        await self.store.release(rest)
                    for other in rest:
                        self._done(other)
                    await asyncio.sleep(1.0)
                    continue
                finally:
                    self._sending.discard(key)
                if not ok and not queue.empty():
                    # Keep the chat's order: the rest waits for the failed row's retry (its
                    # not_before was pushed back with it) and is claimed again in id order.
                    await self._release([queue.get_nowait() for _ in range(queue.qsize())])
            if not queue.empty():  # stopping: what was not sent goes back to the table
                with contextlib.suppress(Exception):
                    await self._release([queue.get_nowait() for _ in range(queue.qsize())])
        finally:
            # No await between the idle timeout and here, so nothing can be queued meanwhile.
            self._queues.pop(key, None)
            self._workers.pop(key, None)

    async def _send_one(self, key: tuple[Channel, str], row: OutboxMessage, pacing: TokenBucket | None) -> bool:
        """Pace, re-check and deliver one row, and record the outcome; False if it failed."""
        payload = Outbound.from_payload(row.payload)
        if payload.kind == "message" and pacing is not None:
            await pacing.acquire()
        if payload.kind == "message" and key[0] in self.windows:
            await self.windows[key[0]].acquire(key[1])
        bucket = self.buckets.get(key[0])
        if bucket is not None:  # held while a 429's retry_after runs; a reply goes first
            await bucket.acquire(0 if self._replies.get(key) else 1)
        if not await self.store.still_mine(row):  # its lease ran out and another sender took it
            self._done(row)
            return True
        if row.valid_if and self.store.waited(row, self.app.clock.now(), WAITED) and not await self.store.applies(row):
            await self.store.drop(row, "no longer applies (the ticket moved on while it waited)")
            self.dropped += 1
            self._done(row)
            return True
        if payload.document and not payload.document.get("path"):
            try:  # a pointer ("the service report of ticket N"): rendered and stored now
                payload = await resolve_document(self.app, payload, self.store.media_root)
            except Exception as exc:  # noqa: BLE001 — the row waits and is tried again
                log.exception("outbox row %s: making its document failed", row.id)
                await asyncio.shield(self._record(row, _Result(False, error=DeliveryError(
                    "transient", f"document: {type(exc).__name__}: {exc}"))))
                self._done(row)
                return False
        result = await self._deliver(row, payload)
        # Shielded: once the channel has the message, saying so must not be cut short by a stop.
        await asyncio.shield(self._record(row, result))
        self._done(row)
        return result.ok

    async def _deliver(self, row: OutboxMessage, payload: Outbound) -> _Result:
        adapter = self.adapters.get(row.channel)
        if adapter is None:
            return _Result(False, error=DeliveryError("transient", f"no adapter for {row.channel.value}"))
        try:
            payload = await with_stamped_photos(self.app, self.store.media_root, payload)
            return _Result(True, external_id=await adapter.deliver(row.chat_id, payload))
        except DeliveryError as exc:
            if exc.kind == "retry_after":
                self.buckets[row.channel].hold(exc.retry_after)
            return _Result(False, error=exc)
        except Exception as exc:  # an adapter bug must not kill the sender
            log.exception("delivering outbox row %s failed", row.id)
            return _Result(False, error=DeliveryError("transient", f"{type(exc).__name__}: {exc}"))

    async def _record(self, row: OutboxMessage, result: _Result) -> None:
        if result.ok:
            await self.store.sent(row, result.external_id)
            self.sent += 1
            return
        if await self.store.failed(row, result.error):
            self.wake()  # plan the next look for the new not_before
        else:
            self.failed += 1
            self.wake()  # the supervisor's "could not deliver" row

    async def _release(self, rows: list[OutboxMessage]) -> None:
        await self.store.release(rows)
        for row in rows:
            self._done(row)

    def _done(self, row: OutboxMessage) -> None:
        """The row left this sender's hands (sent, failed, dropped or released for a retry)."""
        if row.id not in self._inflight:
            return
        self._inflight.discard(row.id)
        key = (row.channel, row.chat_id)
        if row.purpose in INTERACTIVE and self._replies.get(key):
            self._replies[key] -= 1
            if not self._replies[key]:
                del self._replies[key]
        if self._backlog and len(self._inflight) <= self.in_flight // 2:
            self._backlog = False
            self.wake()  # room again for the bulk still waiting in the table
