"""The intake's recovery half (mixed into :class:`bot.intake.Intake`): taking over what a stopped
instance stored but did not handle, re-running rows whose handling was cut short, counting the
crashes a row was present at (parked at the limit), and keeping each session's order across
instances (an earlier pending update of the session goes first, whichever instance stored it).
See :mod:`bot.intake` for the whole picture.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from handlers.channel import Inbound
from models.enums import Channel, InboxStatus
from models.runtime import InboundEvent

log = logging.getLogger("bot.intake")


class Recovery:
    """Needs from the intake: ``app``, ``core``, ``adapters``, ``instance_id``, ``max_attempts``,
    ``alive``, ``wait_for_others``, ``parked``, ``_in_flight`` and ``_start``."""

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
