"""The outbox table's side of sending: claiming rows with a lease, keeping or losing the lease,
and recording what happened to each row.  :mod:`bot.outbox` (the sender) does the pacing and the
channel calls; everything here is one short transaction each.

* Claim: chats with an interactive row (a reply to someone who just wrote) first and whole, their
  earlier rows too (order per chat); bulk rows only up to the room the sender has, so a wave waits
  in the table, where it survives a crash.  A chat whose earlier row waits for a retry is held back
  entirely.  The lease names this instance (``leased_by``): a dead instance's leases are released
  by the heartbeat (:mod:`bot.instances`), a hung one's run out after :data:`LEASE`.
* Sent: one UPDATE in its own commit, ahead of everyone waiting for the SQLite writer
  (``write(urgent=True)``), retried while the database is briefly unavailable — the message is out
  and must be recorded as such.
* Failed: a 429 waits ``retry_after``, a transient error backs off exponentially (later rows of the
  chat wait with it), a permanent one marks the row failed, the chat's identity unreachable, and
  tells the person's supervisor.
* Dropped: a row that waited and no longer applies (``valid_if``), never sent.
* Secret rows (a join link and its QR code) keep no text and no files once delivered or given up.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, or_, select, true, update
from sqlalchemy.orm import aliased

from handlers.channel import DeliveryError
from models.enums import OutboxStatus
from models.people import ChannelIdentity, Person, Team
from models.runtime import OutboxMessage
from models.tickets import Ticket
from models.still import applies

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # transient failures: ~1+2+…+300 s ≈ 30 min of retrying before giving up
LEASE = timedelta(seconds=120)
#: Purposes that answer someone who just wrote: they go before pushes and reminders.
INTERACTIVE = frozenset({"reply", "error", "menu"})
FORGOTTEN = {"text": "", "secret": True, "forgotten": True}


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class OutboxStore:
    def __init__(self, app, instance_id: str | None, media_root: Path | None, batch: int = 200):  # noqa: ANN001
        self.app = app
        self.instance_id = instance_id
        self.media_root = media_root  # where photo paths in payloads point (secret ones are deleted)
        self.batch = batch

    async def claim(self, room: int, holding: set[int]) -> tuple[list[OutboxMessage], bool, datetime | None]:
        """Claim due rows: (rows in id order, whether bulk rows were left for want of ``room``,
        the next time a waiting row comes due)."""
        now = self.app.clock.now()
        free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
        earlier = aliased(OutboxMessage)
        # A chat whose earlier message waits for a retry is held back entirely: order per chat.
        # (A push merely scheduled for later — quiet hours — holds nothing back.)
        overtakes = exists().where(earlier.channel == OutboxMessage.channel, earlier.chat_id == OutboxMessage.chat_id,
                                   earlier.status == OutboxStatus.PENDING, earlier.id < OutboxMessage.id,
                                   earlier.not_before > now, earlier.attempts > 0)
        due = and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now, free, ~overtakes)
        backlog = False
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
            room -= len(ids)
            if room > 0:
                bulk = (await session.scalars(
                    select(OutboxMessage.id).where(due, ~OutboxMessage.id.in_(ids) if ids else true())
                    .order_by(OutboxMessage.id).limit(min(room, self.batch))
                )).all()
                backlog = len(bulk) == min(room, self.batch)
                ids += bulk
            else:
                backlog = True
            claimed: list[OutboxMessage] = []
            ids = [i for i in ids if i not in holding]
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
        return claimed, backlog, later

    async def has_due(self) -> bool:
        now = self.app.clock.now()
        async with self.app.db.read() as session:
            return await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING,
                                               OutboxMessage.not_before <= now).limit(1)
            ) is not None

    async def still_mine(self, row: OutboxMessage) -> bool:
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

    @staticmethod
    def waited(row: OutboxMessage, now: datetime, waited: timedelta) -> bool:
        """Did the row wait (quiet hours, a retry, a backlog)?  Then it is checked again."""
        return row.attempts > 0 or row.not_before > row.created_at or now - row.not_before > waited

    async def applies(self, row: OutboxMessage) -> bool:
        async with self.app.db.read() as session:
            return await applies(session, row.valid_if)

    async def drop(self, row: OutboxMessage, reason: str) -> None:
        async with self.app.db.write() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.DROPPED, last_error=reason, lease_until=None, leased_by=None)
                .execution_options(synchronize_session=False))
        log.info("outbox row %s dropped: %s", row.id, reason)

    async def release(self, rows: list[OutboxMessage]) -> None:
        async with self.app.db.write() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]),
                                            OutboxMessage.status == OutboxStatus.PENDING)
                .values(lease_until=None, leased_by=None).execution_options(synchronize_session=False)
            )

    async def sent(self, row: OutboxMessage, external_id: str | None) -> None:
        """One UPDATE in its own commit, ahead of everyone waiting for the writer: the window in
        which a crash makes a delivered message look unsent is as short as it can be."""
        values = {"status": OutboxStatus.SENT, "sent_at": self.app.clock.now(), "external_message_id": external_id,
                  "last_error": None, "lease_until": None, "leased_by": None,
                  "attempts": OutboxMessage.attempts + 1}
        secret = bool(row.payload.get("secret"))
        if secret:
            values["payload"] = dict(FORGOTTEN)
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
        if secret:
            await self._unlink_files(row.payload)

    async def failed(self, row: OutboxMessage, error: DeliveryError) -> bool:
        """Record a failed delivery; True if the row will be tried again (a retry is scheduled)."""
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
                return True
            stored.status = OutboxStatus.FAILED
            payload = stored.payload
            if payload.get("secret"):
                stored.payload = dict(FORGOTTEN)
            await self._undeliverable(session, stored, now)
        if payload.get("secret"):
            await self._unlink_files(payload)
        return False

    async def _unlink_files(self, payload: dict) -> None:
        paths = [p["path"] for p in payload.get("photos", []) if p.get("path")]
        if paths and self.media_root is not None:
            await asyncio.to_thread(_unlink, [self.media_root / p for p in paths])

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
        team_id = person.team_id if person else None
        if team_id is None and row.ticket_id is not None:  # a customer: the desk of their ticket
            team_id = await session.scalar(select(Ticket.team_id).where(Ticket.id == row.ticket_id))
        team = await session.get(Team, team_id) if team_id else None
        if team is None or team.supervisor_id in (None, person.id):
            log.warning("outbox row %s failed for %s and nobody can be told", row.id, person and person.name)
            return
        await push(session, self.app, team.supervisor_id,
                   Msg("outbox.undeliverable", {"name": person.name, "reason": row.last_error or ""}),
                   purpose="undeliverable", ticket_id=row.ticket_id, dedupe=f"undeliverable:{row.id}", now=now)
