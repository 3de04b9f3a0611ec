"""Read-side queries shared by the CLI and the handlers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.enums import TicketStatus
from models.numbering import normalise_number
from models.people import Person
from models.tickets import Ticket, TicketEvent


async def ticket_by_number(session: AsyncSession, number: str, *, with_events: bool = False) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.number == normalise_number(number)).options(selectinload(Ticket.customer))
    if with_events:
        stmt = stmt.options(selectinload(Ticket.events))
    return await session.scalar(stmt)


async def list_tickets(
    session: AsyncSession, *, status: TicketStatus | None = None, limit: int = 200
) -> Sequence[Ticket]:
    stmt = select(Ticket).order_by(Ticket.id.desc()).limit(limit).options(selectinload(Ticket.customer))
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    return (await session.scalars(stmt)).all()


async def people_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = await session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))
    return {person_id: name for person_id, name in rows.all()}


async def timeline(session: AsyncSession, ticket_id: int) -> Sequence[TicketEvent]:
    return (await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    )).all()
