"""The outbox sender: delivers outbox rows through the channel adapters.

* Woken right after a commit that wrote rows (``wake()``), so replies go out at once; it also
  looks again when a delayed row (``not_before``) comes due and every few seconds for rows other
  instances wrote.  Rows left by a crash are simply still ``pending`` and go out on restart.
* Rows are claimed with a lease (a conditional UPDATE, naming this instance), so two instances
  never send one row; a dead instance's leases are released as soon as its heartbeat stops
  (:mod:`bot.instances`), a hung one's run out.  The unique ``dedupe_key`` means a row is never
  written twice.
* A row is marked sent in its own commit the moment the channel answered, ahead of everything
  else waiting for the database (``db.write(urgent=True)``).  Delivery is at-least-once: a
  message goes out twice only if the process dies between the channel accepting it and that
  commit — inside the HTTP round trip or the one short UPDATE after it.
* A row that waited (quiet hours, a retry) is checked when it comes due: if what it was about
  no longer holds (``valid_if``, see :mod:`models.still`) it is dropped, not sent.
* Pacing: an overall token bucket (default 25/s), one message per second per private chat and 20
  per minute per group (no bursts: the limits are what Telegram enforces); messages to one chat go
  out in the order they were written.
* Priority: a reply to someone who just wrote takes the next token ahead of bulk pushes, and bulk
  rows are claimed a few seconds' worth at a time, so an escalation wave does not hold up the chat.
* A 429 holds all sending for its ``retry_after``; network errors and 5xx back off exponentially;
  a permanent error (bot blocked, chat not found) marks the row failed with its reason, marks the
  identity unreachable, and tells the person's supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, or_, select, true, update
from sqlalchemy.orm import aliased

from handlers.channel import ChannelAdapter, DeliveryError, Outbound
from bot.ratelimit import TokenBucket
from models.enums import Channel, OutboxStatus
from models.people import ChannelIdentity, Person, Team
from models.runtime import OutboxMessage
from models.still import applies

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # transient failures: ~1+2+…+300 s ≈ 30 min of retrying before giving up
LEASE = timedelta(seconds=120)
#: A row this much older than its due time, or due later than written, waited: re-check it.
WAITED = timedelta(seconds=30)
#: Purposes that answer someone who just wrote: they go before pushes and reminders.
INTERACTIVE = frozenset({"reply", "error", "menu"})


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


@dataclass
class _Result:
    row_id: int
    ok: bool
    external_id: str | None = None
    error: DeliveryError | None = None


class OutboxSender:
    def __init__(self, app, adapters: dict[Channel, ChannelAdapter], *, rate: float = 25.0,  # noqa: ANN001
                 per_chat_interval: float = 1.0, group_per_minute: int = 20, batch: int = 200,
                 idle_poll: float = 5.0, in_flight: int | None = None, media_root: Path | None = None,
                 instance_id: str | None = None):
        """``per_chat_interval`` 0 turns per-chat pacing off (tests against the emulator).
        ``in_flight``: bulk rows queued in memory at most (default: four seconds' worth)."""
        self.app = app
        self.adapters = adapters
        # A small burst: a full second's worth saved up plus a second's refill would let 2×rate
        # through in the first second of a wave, over Telegram's ~30/s.
        self.bucket = TokenBucket(rate, burst=min(rate, 5.0))
        self.per_chat_interval = per_chat_interval
        self.group_interval = 60.0 / group_per_minute
        self.batch = batch
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._queues: dict[tuple[Channel, str], asyncio.Queue[OutboxMessage]] = {}
        self._workers: dict[tuple[Channel, str], asyncio.Task] = {}
        self._inflight: set[int] = set()
        self.in_flight = in_flight if in_flight is not None else max(20, int(rate * 4))
        self.media_root = media_root  # where photo paths in payloads point (secret ones are deleted)
        self.instance_id = instance_id  # named in the leases this sender takes
        self._backlog = False  # bulk rows were left in the table for want of room
        self._replies: dict[tuple[Channel, str], int] = {}  # interactive rows queued, per chat
        self._stopping = False
        self._sending: set[tuple[Channel, str]] = set()  # chats whose worker is sending a row now
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def wake(self) -> None:
        self._wake.set()

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
            if not self._inflight and not await self._has_due():
                return

    async def _has_due(self) -> bool:
        now = self.app.clock.now()
        async with self.app.db.read() as session:
            return await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING,
                                               OutboxMessage.not_before <= now).limit(1)
            ) is not None

    async def _claim_and_queue(self) -> datetime | None:
        """Claim due rows and hand them to their chats' workers.

        Chats with an interactive row (a reply to someone who just wrote) are claimed first and
        whole — their earlier rows too, so the chat's order holds.  Bulk rows (pushes, reminders,
        escalation waves) are claimed only up to ``in_flight`` queued at a time: a wave waits in
        the table, where it survives a crash and cannot outlive its lease in memory.
        """
        now = self.app.clock.now()
        free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
        earlier = aliased(OutboxMessage)
        # A chat whose earlier message waits for a retry is held back entirely: order per chat.
        # (A push merely scheduled for later — quiet hours — holds nothing back.)
        overtakes = exists().where(earlier.channel == OutboxMessage.channel, earlier.chat_id == OutboxMessage.chat_id,
                                   earlier.status == OutboxStatus.PENDING, earlier.id < OutboxMessage.id,
                                   earlier.not_before > now, earlier.attempts > 0)
        due = and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now, free, ~overtakes)
        async with self.app.db.write() as session:
            # Two linear steps, not a correlated EXISTS per due row (quadratic on a backlog): the
            # chats with a reply due (read through the partial index on due rows), then their rows.
            chats = (await session.execute(
                select(OutboxMessage.channel, OutboxMessage.chat_id).distinct()
                .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now,
                       OutboxMessage.purpose.in_(INTERACTIVE)).limit(self.batch)
            )).all()
            ids: list[int] = []
            if chats:
                ids = list((await session.scalars(
                    select(OutboxMessage.id).where(due, OutboxMessage.chat_id.in_({c for _, c in chats}),
                                                   OutboxMessage.channel.in_({ch for ch, _ in chats}))
                    .order_by(OutboxMessage.id).limit(self.batch)
                )).all())
            room = self.in_flight - len(self._inflight) - len(ids)
            if room > 0:
                bulk = (await session.scalars(
                    select(OutboxMessage.id).where(due, ~OutboxMessage.id.in_(ids) if ids else true())
                    .order_by(OutboxMessage.id).limit(min(room, self.batch))
                )).all()
                self._backlog = len(bulk) == min(room, self.batch)
                ids += bulk
            else:
                self._backlog = True
            claimed: list[OutboxMessage] = []
            if ids:
                claimed_ids = (await session.scalars(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ids), due)
                    .values(lease_until=now + LEASE, leased_by=self.instance_id).returning(OutboxMessage.id)
                    .execution_options(synchronize_session=False)
                )).all()
                if claimed_ids:
                    claimed = list((await session.scalars(
                        select(OutboxMessage).where(OutboxMessage.id.in_(claimed_ids)).order_by(OutboxMessage.id)
                    )).all())
            later = await session.scalar(
                select(OutboxMessage.not_before).where(OutboxMessage.status == OutboxStatus.PENDING,
                                                       OutboxMessage.not_before > now)
                .order_by(OutboxMessage.not_before).limit(1)
            )
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

    async def _chat_worker(self, key: tuple[Channel, str]) -> None:
        """Sends one chat's rows in order, paced for that chat; exits when idle."""
        queue = self._queues[key]
        group = key[1].startswith("-")
        interval = self.group_interval if group else self.per_chat_interval
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
                        await self._release(rest)
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
                rest = [queue.get_nowait() for _ in range(queue.qsize())]
                with contextlib.suppress(Exception):
                    await self._release(rest)
                for row in rest:
                    self._done(row)
        finally:
            # No await between the idle timeout and here, so nothing can be queued meanwhile.
            self._queues.pop(key, None)
            self._workers.pop(key, None)

    async def _send_one(self, key: tuple[Channel, str], row: OutboxMessage, pacing: TokenBucket | None) -> bool:
        """Pace, re-check and deliver one row, and record the outcome; False if it failed."""
        payload = Outbound.from_payload(row.payload)
        if payload.kind == "message" and pacing is not None:
            await pacing.acquire()
        # A chat with a reply waiting goes before the bulk, rows ahead of the reply too.
        await self.bucket.acquire(0 if self._replies.get(key) else 1)  # held while a 429's retry_after runs
        if not await self._still_mine(row):  # its lease ran out and another sender took it
            self._done(row)
            return True
        if row.valid_if and self._waited(row) and not await self._applies(row):
            await self._drop(row, "no longer applies (the ticket moved on while it waited)")
            self._done(row)
            return True
        result = await self._deliver(row, payload)
        # Shielded: once the channel has the message, saying so must not be cut short by a stop.
        await asyncio.shield(self._record(row, result))
        self._done(row)
        return result.ok

    def _waited(self, row: OutboxMessage) -> bool:
        now = self.app.clock.now()
        return row.attempts > 0 or row.not_before > row.created_at or now - row.not_before > WAITED

    async def _applies(self, row: OutboxMessage) -> bool:
        async with self.app.db.read() as session:
            return await applies(session, row.valid_if)

    async def _drop(self, row: OutboxMessage, reason: str) -> None:
        async with self.app.db.write() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.DROPPED, last_error=reason, lease_until=None, leased_by=None)
                .execution_options(synchronize_session=False))
        self.dropped += 1
        log.info("outbox row %s dropped: %s", row.id, reason)

    async def _still_mine(self, row: OutboxMessage) -> bool:
        """A row can wait behind its chat's pace for a while: before sending, a lease that is more
        than half gone is renewed — on condition that it is still ours, so that a row another
        instance claimed after our lease ran out is never sent twice."""
        now = self.app.clock.now()
        if row.lease_until is not None and row.lease_until - now > LEASE / 2:
            return True
        async with self.app.db.write() as session:
            renewed = await session.scalar(
                update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING,
                                            OutboxMessage.lease_until == row.lease_until)
                .values(lease_until=now + LEASE, leased_by=self.instance_id).returning(OutboxMessage.lease_until)
                .execution_options(synchronize_session=False)
            )
        if renewed is None:
            log.info("outbox row %s was taken over by another sender; not sending it here", row.id)
            return False
        row.lease_until = renewed
        return True

    async def _release(self, rows: list[OutboxMessage]) -> None:
        async with self.app.db.write() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]),
                                            OutboxMessage.status == OutboxStatus.PENDING)
                .values(lease_until=None, leased_by=None).execution_options(synchronize_session=False)
            )
        for row in rows:
            self._done(row)

    def _done(self, row: OutboxMessage) -> None:
        """The row left this sender's hands (sent, failed, or released for a retry)."""
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

    async def _deliver(self, row: OutboxMessage, payload: Outbound) -> _Result:
        adapter = self.adapters.get(row.channel)
        if adapter is None:
            return _Result(row.id, False, error=DeliveryError("transient", f"no adapter for {row.channel.value}"))
        try:
            external = await adapter.deliver(row.chat_id, payload)
            return _Result(row.id, True, external_id=external)
        except DeliveryError as exc:
            if exc.kind == "retry_after":
                self.bucket.hold(exc.retry_after)
            return _Result(row.id, False, error=exc)
        except Exception as exc:  # an adapter bug must not kill the sender
            log.exception("delivering outbox row %s failed", row.id)
            return _Result(row.id, False, error=DeliveryError("transient", f"{type(exc).__name__}: {exc}"))

    async def _record(self, row: OutboxMessage, result: _Result) -> None:
        if result.ok:
            await self._record_sent(row, result.external_id)
        else:
            await self._record_failure(row, result.error)

    async def _record_sent(self, row: OutboxMessage, external_id: str | None) -> None:
        """One UPDATE in its own commit, ahead of everyone waiting for the writer: the window in
        which a crash makes a delivered message look unsent is as short as it can be."""
        values = {"status": OutboxStatus.SENT, "sent_at": self.app.clock.now(), "external_message_id": external_id,
                  "last_error": None, "lease_until": None, "leased_by": None,
                  "attempts": OutboxMessage.attempts + 1}
        secret = bool(row.payload.get("secret"))
        if secret:
            values["payload"] = {"text": "", "secret": True, "forgotten": True}
        for attempt in range(1, 11):  # the message is out: keep trying to say so (~15 s)
            try:
                async with self.app.db.write(urgent=True) as session:
                    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
                                          .execution_options(synchronize_session=False))
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                if attempt == 10:
                    raise
                log.warning("marking outbox row %s sent failed (try %d); again", row.id, attempt)
                await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))
        self.sent += 1
        if secret:
            await self._unlink_files(row.payload)

    async def _record_failure(self, row: OutboxMessage, error: DeliveryError) -> None:
        now = self.app.clock.now()
        async with self.app.db.write() as session:
            stored = await session.get(OutboxMessage, row.id)
            stored.attempts += 1
            stored.lease_until = None
            stored.leased_by = None
            stored.last_error = error.reason[:500]
            retry_at = None
            if error.kind == "retry_after":
                retry_at = now + timedelta(seconds=error.retry_after)
            elif error.kind == "transient" and stored.attempts < MAX_ATTEMPTS:
                retry_at = now + timedelta(seconds=min(300, 2 ** (stored.attempts - 1)))
            if retry_at is not None:
                stored.not_before = retry_at
                # Later messages to the same chat wait too, so they cannot overtake this one.
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.channel == stored.channel, OutboxMessage.chat_id == stored.chat_id,
                           OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.id > stored.id,
                           OutboxMessage.not_before < retry_at)
                    .values(not_before=retry_at).execution_options(synchronize_session=False)
                )
                self.wake()  # let the loop plan its next look for the new not_before
            else:
                stored.status = OutboxStatus.FAILED
                self.failed += 1
                await self._forget_secret(stored)
                await self._undeliverable(session, stored, now)

    async def _unlink_files(self, payload: dict) -> None:
        paths = [p["path"] for p in payload.get("photos", []) if p.get("path")]
        if paths and self.media_root is not None:
            await asyncio.to_thread(_unlink, [self.media_root / p for p in paths])

    async def _forget_secret(self, row: OutboxMessage) -> None:
        """A delivered (or abandoned) secret message keeps no text and no files: the join link
        it carried lives on only in the chat it was sent to."""
        if not row.payload.get("secret"):
            return
        payload = row.payload
        row.payload = {"text": "", "secret": True, "forgotten": True}
        await self._unlink_files(payload)

    async def _undeliverable(self, session, row: OutboxMessage, now: datetime) -> None:  # noqa: ANN001
        """Mark the chat unreachable and tell the person's supervisor, so it is noticed."""
        from handlers.context import push
        from handlers.messages import Msg

        marked = (await session.execute(
            update(ChannelIdentity).where(ChannelIdentity.channel == row.channel,
                                          ChannelIdentity.chat_id == row.chat_id)
            .values(unreachable_reason=(row.last_error or "")[:200])
        )).rowcount
        if not marked or row.person_id is None or row.purpose == "undeliverable":
            return  # not the chat anyone's pushes go to (a reply into a stray chat): nobody to warn
        person = await session.get(Person, row.person_id)
        team = await session.get(Team, person.team_id) if person and person.team_id else None
        if team is None or team.supervisor_id in (None, person.id):
            log.warning("outbox row %s failed for %s and nobody can be told", row.id, person and person.name)
            return
        await push(session, self.app, team.supervisor_id,
                   Msg("outbox.undeliverable", {"name": person.name, "reason": row.last_error or ""}),
                   purpose="undeliverable", ticket_id=row.ticket_id, dedupe=f"undeliverable:{row.id}", now=now)
        self.wake()
