"""What the desk flows share (dispatch, reassign): which team may take a ticket, who dispatched it
last, and the engineer picker.

The picker lists the team's engineers best first (:mod:`models.suggest`: open load, then distance
from the site where known) with each one's load, distance and how old that location is.
"""

from __future__ import annotations

from datetime import datetime

from handlers.context import Ctx
from handlers.dialogs import button_arg, label
from handlers.messages import L, Lines, Msg
from handlers.notify import supervisor_of
from models.enums import Role
from models.errors import DomainError
from models.people import Person, Team
from models.queries import latest_dispatcher
from models.suggest import Suggestion, site_location, suggest_engineers
from models.tickets import Ticket

DESK = frozenset({Role.SUPERVISOR, Role.DISPATCHER})
#: Longest reason kept for a decline or a reassignment.
REASON_LIMIT = 500


def desk_team_id(ctx: Ctx, ticket: Ticket) -> int:
    """The team whose engineers may take the ticket: its own, or (unteamed) the asker's."""
    team_id = ticket.team_id or ctx.person.team_id
    if team_id is None:
        raise DomainError("desk_no_team", number=ticket.number)
    return team_id


async def team_engineer(ctx: Ctx, ticket: Ticket, team_id: int) -> Person:
    """The engineer the pressed button names (``code:TICKET:ENGINEER``), if they are an active
    engineer of ``team_id``."""
    engineer = await ctx.session.get(Person, int(button_arg(ctx, 1)))
    if engineer is None or engineer.role is not Role.ENGINEER or not engineer.active \
            or engineer.team_id != team_id:
        raise DomainError("desk_not_team_engineer", number=ticket.number)
    return engineer


async def dispatcher_of(ctx: Ctx, ticket: Ticket) -> int | None:
    """Who dispatched the ticket last (they want to hear the answer); else the team supervisor."""
    return await latest_dispatcher(ctx.session, ticket.id) or await supervisor_of(ctx, ticket)


def _age(ctx: Ctx, since: datetime) -> str:
    minutes = max(0, int((ctx.now - since).total_seconds() // 60))
    if minutes < 1:
        return ctx.t("assign.age.now")
    if minutes < 60:
        return ctx.t("assign.age.minutes", n=minutes)
    if minutes < 48 * 60:
        return ctx.t("assign.age.hours", n=minutes // 60)
    return ctx.t("assign.age.days", n=minutes // (24 * 60))


def suggestion_label(ctx: Ctx, s: Suggestion) -> str:
    """``name · load``, and where known the distance (whole km) and how old that location is."""
    base = ctx.t("desk.dispatch.engineer_label", name=s.name, open=s.open_load)
    if s.distance_km is None or s.located_at is None:
        return base
    if s.distance_km < 1:
        return ctx.t("assign.label.near", base=base, age=_age(ctx, s.located_at))
    return ctx.t("assign.label.located", base=base, km=round(s.distance_km), age=_age(ctx, s.located_at))


async def suggestion_picker(ctx: Ctx, ticket: Ticket, team_id: int, text: L, *, code: str, ref: str,
                            exclude_id: int | None = None, none_error: str = "desk_no_engineers") -> None:
    """Reply with ``text`` and a button ``code:TICKET:ENGINEER`` per suggested engineer, best
    first (:mod:`models.suggest`); says how they are ordered when distances could be used."""
    suggestions = await suggest_engineers(ctx.session, ticket, team_id, exclude_id=exclude_id)
    if not suggestions:
        team = await ctx.session.get(Team, team_id)
        raise DomainError(none_error, team=team.name if team else "")
    parts = [text]
    if await site_location(ctx.session, ticket) is not None:
        parts.append(L("assign.pick.order_hint"))
    buttons = [[(label(suggestion_label(ctx, s)), f"{code}:{ticket.id}:{s.person_id}")] for s in suggestions]
    ctx.reply(Msg(body=Lines(tuple(parts)), buttons=buttons), ticket_id=ticket.id, ref=ref)
