"""Durable intake: an update is stored (the inbox) before its channel is told it arrived, then
handled from there.

    channel ──raw update──► Intake.accept ──one commit──► (caller acknowledges: offset / 200)
                                 │
                                 └─► one task per update ─► Core.handle (marks the row done in
                                                             the same transaction as its effects)

* ``accept`` stores a whole batch in one transaction (a getUpdates page, one webhook POST, one
  WeCom callback) and returns only after the commit: the caller acknowledges to the channel after
  that, so a crash at any instruction loses nothing that was acknowledged.  It then starts
  handling: updates of one session in arrival order (the core's per-session lock is taken in task
  creation order), different sessions concurrently.  A channel with a short answer deadline
  (WeCom: 5 s) answers right after ``accept`` returns.
* A resend (same channel id) is dropped by the unique key: at storing, and again when handled.
* Order per session holds across instances: before an update is handled (its session's lock
  held), any earlier update of the same session still pending in the inbox goes first — handled
  here if this instance owns it or its owner is dead, waited for if a live instance has it in hand.
  (Behind a load balancer one chat's updates can reach different instances; after a takeover the
  adopted update must not be overtaken by the next one.)
* After a crash, rows stored but not handled belong to an instance that is no longer alive;
  :meth:`adopt` takes them over and handles them in their original order (on start, before new
  updates are taken, and whenever another instance's heartbeat stops).
* An update that keeps failing is parked, never retried forever: the core parks it after a few
  exceptions; one that crashes the whole process is counted here, once per recovery that starts
  it, and parked (its sender told) when that count reaches ``max_attempts``.  Rows that were
  already recovered once are re-run one at a time, so only the culprit is counted again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from handlers.channel import Inbound
from models.enums import Channel, InboxStatus
from models.runtime import InboundEvent

log = logging.getLogger(__name__)


class InboundAdapter(Protocol):
    """The inbound half of a channel, as the intake needs it."""

    channel: Channel

    def parse(self, raw: dict[str, Any], received_at: datetime) -> Inbound | None:
        """The neutral event for a raw update, or None for an update Fieldbot does not handle
        (raises on an update that cannot be read: it is parked with the error)."""

    async def finish(self, inbound: Inbound, toast: str | None) -> None:
        """After handling (e.g. answer the pressed button); must not raise."""


class Intake:
    def __init__(self, app, core, adapters: dict[Channel, InboundAdapter], instance_id: str, *,  # noqa: ANN001
                 max_attempts: int = 5, max_in_flight: int = 500):
        self.app = app
        self.core = core
        self.adapters = adapters
        self.instance_id = instance_id
        self.max_attempts = max_attempts
        self.max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task] = set()
        self._in_flight: set[tuple[Channel, str]] = set()
        self._room = asyncio.Event()
        self._room.set()
        self.accepted = 0  # new updates stored by this instance
        self.parked = 0
        self.alive: set[str] = {instance_id}  # live instances, as of the last heartbeat
        self.wait_for_others = 10.0  # seconds to wait for another live instance's earlier update
        core.before = self._earlier_first

    # -- taking updates in ------------------------------------------------------------------
    async def accept(self, channel: Channel, items: Sequence[tuple[str, dict[str, Any]]], *,
                     wait: bool = False) -> int:
        """Store a batch of raw updates in one transaction, then start handling the new ones.

        Returns when the batch is durable (the caller may now acknowledge it to the channel);
        raises if it could not be stored (then the caller must not acknowledge).  Returns the
        number of updates that were new.  ``wait``: return only once they are handled too
        (benchmarks and tests).
        """
        adapter = self.adapters[channel]
        now = self.app.clock.now()
        rows: list[dict[str, Any]] = []
        parsed: dict[str, Inbound] = {}
        for external_id, raw in items:
            try:
                inbound = adapter.parse(raw, now)
            except Exception as exc:  # a malformed update: keep it for an operator, never crash
                log.warning("update %s:%s cannot be read, parked: %s", channel.value, external_id, exc)
                rows.append(self._row(channel, external_id, raw, now, status=InboxStatus.PARKED,
                                      error=f"unreadable: {type(exc).__name__}: {exc}"[:1000]))
                continue
            if inbound is None:
                continue  # an update kind Fieldbot does not handle: nothing to keep
            parsed[external_id] = inbound
            rows.append(self._row(channel, external_id, raw, now, session_key=inbound.session_key))
        if not rows:
            return 0
        insert = pg_insert if self.app.db.dialect == "postgresql" else sqlite_insert
        async with self.app.db.write() as session:
            stored = dict((await session.execute(
                insert(InboundEvent).values(rows)
                .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                .returning(InboundEvent.external_id, InboundEvent.id)
            )).all())
        new = []
        for key, _ in items:
            if key in stored and key in parsed and parsed[key].inbox_id is None:
                parsed[key].inbox_id = stored[key]
                new.append(parsed[key])
        self.parked += sum(1 for r in rows if r["status"] == InboxStatus.PARKED and r["external_id"] in stored)
        self.accepted += len(new)
        tasks = [self._start(adapter, inbound) for inbound in new]
        if wait:
            await asyncio.gather(*(t for t in tasks if t is not None))
        return len(new)

    def _row(self, channel: Channel, external_id: str, raw: dict[str, Any], now: datetime, *,
             status: InboxStatus = InboxStatus.PENDING, error: str | None = None,
             session_key: str | None = None) -> dict[str, Any]:
        return {"channel": channel, "external_id": external_id, "received_at": now, "status": status,
                "payload": raw, "attempts": 0, "last_error": error, "instance_id": self.instance_id,
                "session_key": session_key}

    async def wait_for_room(self) -> None:
        """Back-pressure for pollers: wait while too many updates are being handled."""
        await self._room.wait()

    # -- handling ---------------------------------------------------------------------------
    def _start(self, adapter: InboundAdapter, inbound: Inbound) -> asyncio.Task | None:
        key = (inbound.channel, inbound.update_id)
        if key in self._in_flight:
            return None
        self._in_flight.add(key)
        if len(self._in_flight) >= self.max_in_flight:
            self._room.clear()
        task = asyncio.create_task(self._handle(adapter, inbound), name=f"update-{inbound.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, adapter: InboundAdapter, inbound: Inbound) -> None:
        try:
            toast = await self.core.handle(inbound)
            await adapter.finish(inbound, toast)
        except asyncio.CancelledError:
            raise
        except Exception:  # the core parks what fails; this is the database being gone
            log.exception("update %s:%s was not handled; it stays in the inbox", inbound.channel.value,
                          inbound.update_id)
        finally:
            self._in_flight.discard((inbound.channel, inbound.update_id))
            if len(self._in_flight) < self.max_in_flight:
                self._room.set()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every update started here is handled (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def stop(self) -> None:
        """Cancel handling in progress (as a crash would): those rows stay pending."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- recovery ---------------------------------------------------------------------------
    async def adopt(self, alive: Sequence[str]) -> int:
        """Take over pending rows of instances not in ``alive`` (crashed ones) and handle them
        in their original order.  Returns the number of rows taken over."""
        self.alive = set(alive) | {self.instance_id}
        owned_elsewhere = or_(InboundEvent.instance_id.is_(None), InboundEvent.instance_id.not_in(list(alive)))
        async with self.app.db.write() as session:
            ids = list((await session.scalars(
                update(InboundEvent)
                .where(InboundEvent.status == InboxStatus.PENDING, owned_elsewhere)
                .values(instance_id=self.instance_id).returning(InboundEvent.id)
                .execution_options(synchronize_session=False)
            )).all())
        if ids:
            log.warning("taking over %d stored update(s) that a stopped instance had not handled", len(ids))
            await self._recover(sorted(ids))
        return len(ids)

    async def retry_stuck(self, older_than: datetime) -> int:
        """Own pending rows that nobody is handling (their handling hit a dead database): again."""
        async with self.app.db.read() as session:
            rows = (await session.execute(
                select(InboundEvent.id, InboundEvent.channel, InboundEvent.external_id)
                .where(InboundEvent.status == InboxStatus.PENDING, InboundEvent.instance_id == self.instance_id,
                       InboundEvent.received_at < older_than).order_by(InboundEvent.id).limit(500)
            )).all()
        ids = [r.id for r in rows if (r.channel, r.external_id) not in self._in_flight]
        if ids:
            await self._recover(ids)
        return len(ids)

    async def _recover(self, ids: list[int]) -> None:
        """Handle recovered rows: those already recovered before (suspects of crashing the
        process) one at a time, each counted before it runs; then the rest concurrently, each
        counted once.  Suspects are older than the rest, so per-session order holds."""
        async with self.app.db.read() as session:
            rows = (await session.execute(
                select(InboundEvent.id, InboundEvent.channel, InboundEvent.external_id, InboundEvent.payload,
                       InboundEvent.received_at, InboundEvent.attempts)
                .where(InboundEvent.id.in_(ids), InboundEvent.status == InboxStatus.PENDING)
                .order_by(InboundEvent.id)
            )).all()
        for row in (r for r in rows if r.attempts > 0):
            await self._count_attempt([row.id])
            inbound = await self._revive(row)
            if inbound is None:
                continue
            if row.attempts + 1 >= self.max_attempts:
                self.parked += 1
                log.error("update %s:%s was being handled at %d crashes: parked (see `fieldbot inbox`)",
                          row.channel.value, row.external_id, row.attempts + 1)
                await self.core.give_up(inbound, f"the process stopped while handling it {row.attempts + 1} times")
                continue
            self._start(self.adapters[row.channel], inbound)
            await self._wait_for((row.channel, row.external_id))
        fresh = [r for r in rows if r.attempts == 0]
        if fresh:
            await self._count_attempt([r.id for r in fresh])
        for row in fresh:
            inbound = await self._revive(row)
            if inbound is not None:
                self._start(self.adapters[row.channel], inbound)

    async def _count_attempt(self, ids: list[int]) -> None:
        """Count one more attempt for rows about to be re-run after a crash."""
        async with self.app.db.write() as session:
            await session.execute(
                update(InboundEvent).where(InboundEvent.id.in_(ids), InboundEvent.status == InboxStatus.PENDING)
                .values(attempts=InboundEvent.attempts + 1).execution_options(synchronize_session=False))

    async def _revive(self, row: Any) -> Inbound | None:
        """The stored raw update as an event again; a row that cannot be read any more is
        parked, one Fieldbot no longer handles is closed."""
        adapter = self.adapters.get(row.channel)
        error = None if adapter else f"no adapter for {row.channel.value} in this instance"
        inbound = None
        if adapter is not None:
            try:
                inbound = adapter.parse(row.payload or {}, row.received_at)
            except Exception as exc:
                error = f"unreadable: {type(exc).__name__}: {exc}"[:1000]
            if inbound is not None:
                inbound.inbox_id = row.id
        if inbound is None:
            async with self.app.db.write() as session:
                await session.execute(
                    update(InboundEvent).where(InboundEvent.id == row.id, InboundEvent.status == InboxStatus.PENDING)
                    .values(status=InboxStatus.PARKED if error else InboxStatus.DONE, last_error=error,
                            payload=row.payload if error else None)
                    .execution_options(synchronize_session=False))
        return inbound

    async def _earlier_first(self, inbound: Inbound) -> None:
        """Before ``inbound`` is handled (its session's lock held): every earlier pending update of
        the same session first.  Ours or a dead instance's: handled right here, in order (its own
        task, if any, later finds it done).  A live instance's: waited for, up to a limit."""
        if inbound.inbox_id is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_for_others
        while True:
            async with self.app.db.read() as session:
                rows = (await session.execute(
                    select(InboundEvent.id, InboundEvent.channel, InboundEvent.external_id, InboundEvent.payload,
                           InboundEvent.received_at, InboundEvent.attempts, InboundEvent.instance_id)
                    .where(InboundEvent.status == InboxStatus.PENDING,
                           InboundEvent.session_key == inbound.session_key, InboundEvent.id < inbound.inbox_id)
                    .order_by(InboundEvent.id)
                )).all()
            if not rows:
                return
            for row in rows:
                if row.instance_id != self.instance_id and row.instance_id in self.alive:
                    break  # in another live instance's hands: wait for it
                if row.instance_id != self.instance_id and not await self._take(row):
                    break  # someone else took it meanwhile
                earlier = await self._revive(row)
                if earlier is not None:
                    log.info("update %s:%s handled before the later %s of its session", row.channel.value,
                             row.external_id, inbound.update_id)
                    await self.core.handle_in_session(earlier)
            else:
                continue  # all handled here: look again (nothing should be left)
            if loop.time() > deadline:
                log.warning("update %s:%s: an earlier update of its session is still with another instance "
                            "after %.0f s; handling it anyway", inbound.channel.value, inbound.update_id,
                            self.wait_for_others)
                return
            await asyncio.sleep(0.05)

    async def _take(self, row: Any) -> bool:
        """Claim a dead instance's pending row for this instance (a conditional UPDATE)."""
        owner = InboundEvent.instance_id.is_(None) if row.instance_id is None else InboundEvent.instance_id == row.instance_id
        async with self.app.db.write() as session:
            return (await session.execute(
                update(InboundEvent).where(InboundEvent.id == row.id, InboundEvent.status == InboxStatus.PENDING, owner)
                .values(instance_id=self.instance_id).execution_options(synchronize_session=False)
            )).rowcount == 1

    async def _wait_for(self, key: tuple[Channel, str]) -> None:
        while key in self._in_flight:
            await asyncio.sleep(0.01)
