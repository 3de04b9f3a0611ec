"""The callback survey's rules (回访, :class:`models.enums.CallbackState`): who follows up a callback
the customer did not answer in chat, and when the customer really got the survey.

Shared by the job that sends and expires surveys (:mod:`scheduler.callback`) and the flow that takes
the answers and lists the calls to make (:mod:`handlers.flows.callback`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Role
from models.people import Person, Team
from models.tickets import Ticket

if TYPE_CHECKING:
    from models.calendar import Calendar


async def desk_of(session: AsyncSession, team_id: int | None) -> list[int]:
    """Who follows up unanswered callbacks: the team's dispatchers, else its supervisor."""
    if team_id is None:
        return []
    dispatchers = list((await session.scalars(
        select(Person.id).where(Person.role == Role.DISPATCHER, Person.team_id == team_id,
                                Person.active.is_(True)).order_by(Person.id))).all())
    if dispatchers:
        return dispatchers
    team = await session.get(Team, team_id)
    return [team.supervisor_id] if team is not None and team.supervisor_id else []


def delivered(calendar: Calendar, ticket: Ticket) -> datetime | None:
    """When the customer got the survey: written at ``callback_sent_at``, held by quiet hours."""
    sent = ticket.callback_sent_at
    return calendar.next_opening(sent) if sent is not None else None
