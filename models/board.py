"""The board's queries, the SQL behind ``/tickets``, ``/board`` and ``/pending``: which tickets
fall in which group, how many there are, and one page of them — counted and sliced in the
database, never by loading every ticket into Python.

Groups are disjoint (a ticket shows once) and follow the regulations' names (DESIGN §2):
*mine / to follow / paused / closed*.  Who is in which group is explained in
:mod:`handlers.flows.board`.

Why the ordering looks the way it does: overdue tickets come first in every group, then the one
whose next running clock is due soonest.  "Overdue" here is the SQL test *a running clock's due
time has passed* (counted up to the pause for a paused ticket, where the clock stands still);
the exact working-time figure on each line comes from :meth:`models.clocks.SlaPolicy.remaining`.
The soonest clock is the first unmet one in the order respond → arrive → resolve, which are
configured as growing limits (DESIGN §2), so that order is also the order of their due times.

Index use: the engineer's groups read ``ix_tickets_status_assignee``; the desk's open groups read
the status (or team) index; pending acknowledgements read ``ix_ack_supervisor_open``; open
complaints ``ix_complaints_open``.  The desk's *closed* group filters the team's closed tickets by
their closing time, which has no index of its own (adding one is a schema change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import team_scope
from models.base import UTCDateTime
from models.enums import Action, Role, TicketStatus as S
from models.people import Person
from models.sla import CLOCKS
from models.tickets import Ticket, TicketEvent
from models.work import Acknowledgement, Checkin, Complaint

#: Closed tickets stay on the views this long.
CLOSED_DAYS = 7
#: Being worked on by an engineer (the desk need not act unless a clock is overdue).
WORKING = (S.ACCEPTED, S.EN_ROUTE, S.ON_SITE)
#: The engineer's own active work: waiting for their answer, or under way.
ENGINEER_ACTIVE = (S.DISPATCHED, *WORKING)
#: Done by the engineer, waiting for the customer's sign-off.
AWAITING_SIGNOFF = (S.RESOLVED, S.SIGNED_OFF)
#: Needs the desk now: nobody has it yet, nobody accepted it, or the customer has not signed.
DESK_ACTION = (S.NEW, S.DISPATCHED, *AWAITING_SIGNOFF)
FINISHED = (S.CLOSED, S.CANCELLED)


def overdue(now: datetime) -> Any:
    """True when a running clock's due time has passed (for a paused ticket: before the pause)."""
    at = func.coalesce(Ticket.paused_at, literal(now, UTCDateTime()))
    return or_(*[and_(getattr(Ticket, f"{c}_met_at").is_(None), getattr(Ticket, f"{c}_due_at") < at)
                 for c in CLOCKS])


def next_due() -> Any:
    """The due time of the first unmet clock (respond → arrive → resolve); NULL when none runs."""
    return func.coalesce(*[case((getattr(Ticket, f"{c}_met_at").is_(None), getattr(Ticket, f"{c}_due_at")))
                           for c in CLOCKS])


def open_order(now: datetime) -> list[Any]:
    due = next_due()
    return [case((overdue(now), 0), else_=1), due.is_(None), due, Ticket.id]


def closed_order() -> list[Any]:
    return [func.coalesce(Ticket.closed_at, Ticket.cancelled_at).desc(), Ticket.id.desc()]


def recently_finished(now: datetime) -> Any:
    since = literal(now - timedelta(days=CLOSED_DAYS), UTCDateTime())
    return and_(Ticket.status.in_(FINISHED), func.coalesce(Ticket.closed_at, Ticket.cancelled_at) >= since)


@dataclass(frozen=True)
class Group:
    """One group of a view: its catalog name, its filter and its order."""

    name: str
    where: tuple[Any, ...]
    order: tuple[Any, ...]


def engineer_groups(person: Person, now: datetime) -> list[Group]:
    mine = Ticket.assignee_id == person.id
    order = tuple(open_order(now))
    return [
        Group("mine", (mine, Ticket.status.in_(ENGINEER_ACTIVE)), order),
        Group("follow", (mine, Ticket.status.in_(AWAITING_SIGNOFF)), order),
        Group("paused", (mine, Ticket.status == S.PAUSED), order),
        Group("closed", (mine, recently_finished(now)), tuple(closed_order())),
    ]


def handled_by(person: Person) -> Any:
    """A dispatcher's own tickets: registered by them, or dispatched / reassigned by them."""
    dispatched = exists().where(
        TicketEvent.ticket_id == Ticket.id, TicketEvent.actor_id == person.id,
        TicketEvent.action.in_([Action.DISPATCH, Action.REASSIGN]))
    return or_(Ticket.created_by_id == person.id, dispatched)


def desk_groups(person: Person, now: datetime) -> list[Group]:
    scope = tuple(team_scope(person))
    late = overdue(now)
    order = tuple(open_order(now))
    mine: tuple[Any, ...] = (*scope, Ticket.status.in_(WORKING), ~late)
    if person.role is Role.DISPATCHER:
        mine += (handled_by(person),)
    needs_desk = or_(Ticket.status.in_(DESK_ACTION), and_(Ticket.status.in_(WORKING), late))
    return [
        Group("mine", mine, order),
        Group("follow", (*scope, needs_desk), order),
        Group("paused", (*scope, Ticket.status == S.PAUSED), order),
        Group("closed", (*scope, recently_finished(now)), tuple(closed_order())),
    ]


def group_select(group: Group) -> Select:
    return select(Ticket).where(*group.where).order_by(*group.order)


async def count_tickets(session: AsyncSession, group: Group) -> int:
    return await session.scalar(select(func.count()).select_from(Ticket).where(*group.where)) or 0


async def ticket_page(session: AsyncSession, group: Group, offset: int, limit: int) -> Sequence[Ticket]:
    return (await session.scalars(group_select(group).offset(offset).limit(limit))).all()


# -- complaints (desk) ---------------------------------------------------------------------------
def open_complaints(person: Person) -> Select:
    return (select(Complaint, Ticket.number).join(Ticket, Ticket.id == Complaint.ticket_id)
            .where(Complaint.answered_at.is_(None), *team_scope(person))
            .order_by(Complaint.created_at, Complaint.id))


async def count_complaints(session: AsyncSession, person: Person) -> int:
    listed = open_complaints(person).order_by(None).subquery()
    return await session.scalar(select(func.count()).select_from(listed)) or 0


async def complaint_page(session: AsyncSession, person: Person, offset: int, limit: int) -> list[tuple[Complaint, str]]:
    """Open complaints of the team, oldest first, with their ticket numbers."""
    rows = await session.execute(open_complaints(person).offset(offset).limit(limit))
    return [(complaint, number) for complaint, number in rows.all()]


# -- pending acknowledgements (supervisor) -------------------------------------------------------
def pending_select(person: Person) -> Select:
    """Unacknowledged check-ins of tickets not cancelled (a cancelled job's are not waited for)."""
    return (select(Acknowledgement, Checkin, Ticket.number)
            .join(Checkin, Checkin.id == Acknowledgement.checkin_id)
            .join(Ticket, Ticket.id == Checkin.ticket_id)
            .where(Acknowledgement.supervisor_id == person.id, Acknowledgement.acked_at.is_(None),
                   Ticket.status != S.CANCELLED)
            .order_by(Acknowledgement.due_at, Acknowledgement.id))


async def count_pending(session: AsyncSession, person: Person) -> int:
    return await session.scalar(select(func.count()).select_from(Acknowledgement)
                                .join(Checkin, Checkin.id == Acknowledgement.checkin_id)
                                .join(Ticket, Ticket.id == Checkin.ticket_id).where(
        Acknowledgement.supervisor_id == person.id, Acknowledgement.acked_at.is_(None),
        Ticket.status != S.CANCELLED)) or 0


async def pending_page(session: AsyncSession, person: Person, offset: int,
                       limit: int) -> list[tuple[Acknowledgement, Checkin, str]]:
    """The supervisor's unacknowledged check-ins, oldest first (``due_at`` is the check-in's time
    plus the fixed ``ack_reminder``, so its order is the check-ins' order, read by index)."""
    rows = await session.execute(pending_select(person).offset(offset).limit(limit))
    return [(ack, checkin, number) for ack, checkin, number in rows.all()]
