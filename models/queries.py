"""Read-side queries shared by the CLI, the handlers and the scheduler jobs: tickets, names, and
who is to be told about a ticket."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.enums import Action, FeedbackSource, Role, TicketStatus
from models.numbering import normalise_number
from models.people import Person, Team
from models.tickets import Ticket, TicketEvent
from models.work import Feedback


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


async def person_name(session: AsyncSession, person_id: int | None) -> str:
    """The person's name; empty when there is nobody (or no such person)."""
    person = await session.get(Person, person_id) if person_id else None
    return person.name if person else ""


async def team_of(session: AsyncSession, ticket: Ticket) -> Team | None:
    return await session.get(Team, ticket.team_id) if ticket.team_id else None


async def supervisor_of(session: AsyncSession, ticket: Ticket, fallback_team_id: int | None = None) -> int | None:
    """The supervisor of the ticket's team; for an unteamed ticket, of ``fallback_team_id`` (the
    team of whoever is acting on it)."""
    team = await team_of(session, ticket)
    if team and team.supervisor_id:
        return team.supervisor_id
    if fallback_team_id:
        own = await session.get(Team, fallback_team_id)
        return own.supervisor_id if own else None
    return None


async def customer_people(session: AsyncSession, customer_id: int | None) -> list[int]:
    """The customer's people who joined in chat (any of them may answer for the company)."""
    return list((await session.scalars(
        select(Person.id).where(Person.role == Role.CUSTOMER, Person.customer_id == customer_id,
                                Person.active.is_(True)).order_by(Person.id)
    )).all())


async def latest_dispatcher(session: AsyncSession, ticket_id: int) -> int | None:
    """Who dispatched (or reassigned) the ticket last; None when it came from the CLI."""
    return await session.scalar(
        select(TicketEvent.actor_id)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "transition",
               TicketEvent.action.in_([Action.DISPATCH, Action.REASSIGN]))
        .order_by(TicketEvent.id.desc()).limit(1))


async def feedback_of(session: AsyncSession, ticket_id: int, source: FeedbackSource,
                      since: datetime | None = None) -> Feedback | None:
    """The customer's rating of the job at sign-off or at the callback (the first one counts);
    ``since`` the latest sign-off: a ticket reopened and signed off again is rated again."""
    query = select(Feedback).where(Feedback.ticket_id == ticket_id, Feedback.source == source)
    if since is not None:
        query = query.where(Feedback.at >= since)
    return await session.scalar(query.order_by(Feedback.id).limit(1))
