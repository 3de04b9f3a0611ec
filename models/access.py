"""Who may see what (DESIGN §2: customer data is confidential; a person sees only what their role
and assignment allow).

One rule, used by every way in: a chat flow loading the ticket a button points at, the board's
queries (:func:`team_scope` is the same rule in SQL), a scheduler job choosing whom to tell.
Button data is only a pointer, so a handler never trusts an id it was given: it loads the ticket
through :func:`visible_ticket`, which re-checks role and assignment and says nothing about tickets
the person may not see (not even that they exist).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.customers import Customer
from models.enums import Role
from models.errors import DomainError
from models.numbering import normalise_number
from models.people import Person
from models.tickets import Ticket

#: The largest id a 64-bit column holds has 19 digits; 18 always fit.
ID_DIGITS = 18


def can_see(person: Person | None, ticket: Ticket) -> bool:
    """Engineers see their own tickets, office staff their team's (and unteamed ones), customers
    their company's."""
    if person is None:
        return False
    if person.role is Role.ENGINEER:
        return ticket.assignee_id == person.id
    if person.role is Role.CUSTOMER:
        return person.customer_id is not None and ticket.customer_id == person.customer_id
    return ticket.team_id is None or person.team_id is None or ticket.team_id == person.team_id


def team_scope(person: Person) -> list[Any]:
    """:func:`can_see` for office staff as a SQL filter: their team's tickets and unteamed ones
    (staff without a team see every team)."""
    if person.team_id is None:
        return []
    return [or_(Ticket.team_id == person.team_id, Ticket.team_id.is_(None))]


def visible_customers(person: Person | None) -> Select:
    """The customers ``person`` may look up (registration's customer search): those with a ticket
    the person's team may see, by the same rule as :func:`team_scope`."""
    query = select(Customer)
    if person is not None and person.team_id is not None:
        query = query.where(exists().where(Ticket.customer_id == Customer.id, *team_scope(person)))
    return query


def is_id(text: object) -> bool:
    """A row id as a button or command carries it: ASCII digits only (``"²".isdigit()`` is true
    but ``int("²")`` fails), and short enough for a 64-bit column."""
    return isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= ID_DIGITS


async def visible_ticket(session: AsyncSession, person: Person | None, ticket_id: int | str | None) -> Ticket:
    """The ticket, if ``person`` may see it; otherwise ``ticket_unavailable`` (existence is not
    leaked, and button data is an internal id: it is not echoed).  Only a plausible row id is
    looked up: ``9999999999999999999`` does not fit the column."""
    ticket = None
    if (isinstance(ticket_id, int) and 0 < ticket_id < 2 ** 63) or is_id(ticket_id):
        ticket = await session.get(Ticket, int(ticket_id))
    if ticket is None or not can_see(person, ticket):
        raise DomainError("ticket_unavailable")
    return ticket


async def visible_ticket_by_number(session: AsyncSession, person: Person | None, number: str) -> Ticket:
    """The ticket with this number (as a person types it), if ``person`` may see it."""
    if not number.strip():
        raise DomainError("number_required")
    ticket = await session.scalar(select(Ticket).where(Ticket.number == normalise_number(number)))
    if ticket is None or not can_see(person, ticket):
        raise DomainError("no_ticket", number=number.strip())
    return ticket
