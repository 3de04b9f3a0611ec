"""Closing an inbound update's inbox row (``inbound_events``) in the transaction that handles it.

The intake stores every update as a pending row before its channel is told (durable before
acknowledged); the core marks it done — or parked, with the error, when it keeps failing — in the
same transaction as the update's effects.  The row says whether that already happened: a resent
update, or one another instance handled first, finds it closed and is dropped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Channel, InboxStatus
from models.runtime import InboundEvent


async def close_inbox_row(session: AsyncSession, channel: Channel, external_id: str, *, received_at: datetime,
                          now: datetime, status: InboxStatus = InboxStatus.DONE, error: str | None = None) -> bool:
    """Close the update's inbox row (done, or parked with ``error``) in this transaction; False
    if it was closed before (a resend, or another instance got there first).

    An update that came without the intake (tests, the CLI) gets its row here.  One statement
    either way — ``INSERT … ON CONFLICT DO UPDATE … WHERE status = 'pending'`` — so closing the
    row costs no extra round trip on the single writer.
    """
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(InboundEvent).values(channel=channel, external_id=external_id, received_at=received_at,
                                       status=status, last_error=error, handled_at=now)
    return await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=["channel", "external_id"],
            set_={"status": status, "handled_at": stmt.excluded.handled_at, "last_error": error,
                  "payload": None if status == InboxStatus.DONE else InboundEvent.payload},
            where=InboundEvent.status == InboxStatus.PENDING,
        ).returning(InboundEvent.id)
    ) is not None
