"""A ticket's customer links: issuing one (again), and who follows the ticket in chat.

A customer link is a single-use invite (:mod:`models.invites`) for one person at the customer:
opened, it makes them a contact of the ticket's customer record, and a contact follows every
ticket of that record (status pushes, the service report, the callback survey —
:func:`models.queries.customer_people`).  Only the token's hash is stored, so a link cannot be
shown again: it is issued again instead.

:func:`issue_link` makes a new link for one contact (by name; the ticket's contact by default).
Their earlier links of this ticket that nobody opened stop working (``revoked_at``: opened, the
old link says it was replaced), so a link that went astray is dead once the desk sends a new
one.  Links of other contacts stay valid, and contacts who have joined keep following: a ticket
may have several people at the customer following it, each with a link of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.customers import Customer
from models.enums import Role
from models.errors import DomainError
from models.invites import create_invite
from models.lifecycle import FINAL_STATES
from models.people import Invite, Person
from models.tickets import Ticket
from models.transitions import record_event

#: The longest contact name a link carries (``Person.name``).
NAME_LIMIT = 120


@dataclass(frozen=True)
class Issued:
    token: str  # shown once, never stored
    name: str
    expires_at: datetime
    #: How many earlier links of this contact for this ticket stopped working.
    replaced: int
    #: Other contacts' links to this ticket that wait to be opened (still valid).
    others: tuple[Invite, ...] = ()


def same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


async def contact_name(session: AsyncSession, ticket: Ticket, name: str | None) -> str:
    """Whom a link is for: ``name`` as given, else the ticket's contact (else the customer's name)."""
    name = " ".join((name or "").split())
    if len(name) > NAME_LIMIT:
        raise DomainError("too_long", field="contact", limit=NAME_LIMIT)
    if name or ticket.contact_name:
        return name or ticket.contact_name
    return await session.scalar(select(Customer.name).where(Customer.id == ticket.customer_id))


async def open_links(session: AsyncSession, ticket_id: int, now: datetime) -> list[Invite]:
    """The ticket's customer links that may still be opened, oldest first."""
    return list((await session.scalars(
        select(Invite).where(Invite.ticket_id == ticket_id, Invite.role == Role.CUSTOMER, Invite.person_id.is_(None),
                             Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > now)
        .order_by(Invite.id))).all())


async def contacts(session: AsyncSession, ticket: Ticket) -> list[Person]:
    """The people at the ticket's customer who follow it in chat (every contact of the record)."""
    return list((await session.scalars(
        select(Person).where(Person.role == Role.CUSTOMER, Person.customer_id == ticket.customer_id,
                             Person.active.is_(True)).order_by(Person.id))).all())


async def issue_link(session: AsyncSession, ticket: Ticket, *, name: str | None, now: datetime, ttl: timedelta,
                     by_id: int | None = None) -> Issued:
    """A new single-use link to ``ticket`` for the contact ``name`` (default: the ticket's
    contact); their earlier unopened links of this ticket stop working.  A closed or cancelled
    ticket gets none (``customer_link_closed``).  On the ticket's timeline."""
    if ticket.status in FINAL_STATES:
        raise DomainError("customer_link_closed", number=ticket.number, status=ticket.status.value)
    name = await contact_name(session, ticket, name)
    waiting = await open_links(session, ticket.id, now)
    earlier = [i.id for i in waiting if same_name(i.name, name)]
    replaced = 0
    if earlier:  # conditional: a link being opened right now is either used or replaced, not both
        replaced = (await session.execute(
            update(Invite).where(Invite.id.in_(earlier), Invite.used_at.is_(None), Invite.revoked_at.is_(None))
            .values(revoked_at=now).execution_options(synchronize_session=False))).rowcount
    token = await create_invite(session, role=Role.CUSTOMER, name=name, now=now, ttl=ttl, ticket_id=ticket.id,
                                customer_id=ticket.customer_id, team_id=ticket.team_id, created_by_id=by_id)
    record_event(session, ticket, "customer_link_reissued" if replaced else "customer_link_issued", now=now,
                 actor_id=by_id, name=name)
    return Issued(token=token, name=name, expires_at=now + ttl, replaced=replaced,
                  others=tuple(i for i in waiting if i.id not in earlier))
