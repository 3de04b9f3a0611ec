"""Ticket numbers ``FS-<year>-<6 digits>``, gap-free per year and safe under concurrency.

A counter row per year is bumped with ``UPDATE … RETURNING`` (a row lock on PostgreSQL, the single
writer on SQLite), so two instances never hand out the same number.
"""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.tickets import TicketCounter

NUMBER_RE = re.compile(r"^FS-(\d{4})-(\d{6,})$")


def format_number(year: int, seq: int) -> str:
    return f"FS-{year}-{seq:06d}"


async def next_ticket_number(session: AsyncSession, year: int) -> str:
    bump = (
        update(TicketCounter)
        .where(TicketCounter.year == year)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
        .execution_options(synchronize_session=False)
    )
    seq = (await session.execute(bump)).scalar_one_or_none()
    if seq is None:
        try:
            async with session.begin_nested():
                session.add(TicketCounter(year=year, last=1))
            seq = 1
        except IntegrityError:  # another writer created the year's row first
            seq = (await session.execute(bump)).scalar_one()
    return format_number(year, seq)


def normalise_number(text: str) -> str:
    """Accept ``fs-2026-123`` or ``FS-2026-000123`` as typed by a person; return canonical form."""
    m = re.match(r"^\s*FS-(\d{4})-(\d{1,9})\s*$", text, re.IGNORECASE)
    if not m:
        return text.strip().upper()
    return format_number(int(m.group(1)), int(m.group(2)))
