"""The paged views behind ``/tickets``, ``/board`` and ``/pending`` (who sees what, and why:
:mod:`handlers.flows.board`): one message each, in sections, :data:`PER_PAGE` entries a page with
◀ / ▶ buttons carrying the page.  A page is rendered afresh for the person asking (a button is
only a pointer), clamped to what exists now (the list may have shrunk since), and edits the pressed
message in place when it is one of ours; otherwise it answers anew.

The queries are :mod:`models.board`'s; how one line reads is :mod:`handlers.board_lines`'.
"""


from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from math import ceil
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Ctx
from handlers.board_lines import FIELD, closed_entry, complaint_entry, pending_entry, snippet, ticket_entry
from handlers.dialogs import button_arg, own_message
from handlers.messages import L, Lines, Msg, Raw
from models import board as q
from models.enums import Role
from models.people import Person, Team
from models.queries import people_names
from models.tickets import Ticket

PER_PAGE = 8
DESK = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER})

Button = tuple[Any, str]


@dataclass
class Section:
    """A group of a view: its heading (None: none), how many entries it has, and a way to fetch
    one slice of them as (text, button) pairs."""

    heading: L | None
    count: int
    fetch: Callable[[int, int], Awaitable[list[tuple[Any, Button]]]]


@dataclass
class View:
    title: L
    empty: Msg
    nav: str  # the button code of its pages
    ref: str  # marks our own message, so a page press may edit it


async def show(ctx: Ctx, view: View, sections: Sequence[Section], page: int) -> None:
    """Render page ``page`` (1-based, clamped) of ``sections`` as one message, editing the pressed
    message in place when it is this view's."""
    total = sum(s.count for s in sections)
    pages = max(1, ceil(total / PER_PAGE))
    page = min(max(page, 1), pages)
    start, end = (page - 1) * PER_PAGE, page * PER_PAGE
    body: list[Any] = [view.title]
    buttons: list[list[Button]] = []
    position = 0
    for section in sections:
        first, last = max(start, position), min(end, position + section.count)
        if first < last:
            if section.heading is not None:
                body.append(Raw(""))
                body.append(section.heading)
            for text, button in await section.fetch(first - position, last - first):
                body.append(text)
                buttons.append([button])
        position += section.count
    if pages > 1:
        body += [Raw(""), L("board.page", {"page": page, "pages": pages})]
        steps = (("board.btn.prev", page - 1), ("board.btn.next", page + 1))
        buttons.append([(label, f"{view.nav}:{to}") for label, to in steps if 1 <= to <= pages])
    edit = await own_message(ctx, ref=view.ref) if ctx.inbound.callback_data else None
    msg = view.empty if total == 0 else Msg(body=Lines(tuple(body)), buttons=buttons)
    ctx.reply(replace(msg, edit_message_id=edit), ref=view.ref)


def pressed_page(ctx: Ctx) -> int:
    """The page a ◀ / ▶ button asks for; anything but a number is a forged or stale button."""
    return int(button_arg(ctx, 0))


def heading(name: str, count: int) -> L:
    return L(f"board.group.{name}", {"count": count, "days": q.CLOSED_DAYS})


# -- the ticket groups -------------------------------------------------------------------------
async def ticket_sections(session: AsyncSession, ctx: Ctx, groups: list[q.Group], *, code: str,
                          who: Callable[[Ticket, dict[int, str]], Any]) -> list[Section]:
    """One section per group; each line's button is ``code:TICKET``."""
    def fetcher(group: q.Group) -> Callable[[int, int], Awaitable[list[tuple[Any, Button]]]]:
        async def fetch(offset: int, limit: int) -> list[tuple[Any, Button]]:
            tickets = await q.ticket_page(session, group, offset, limit)
            names = await people_names(session, {t.assignee_id for t in tickets})
            out = []
            for ticket in tickets:
                if group.name == "closed":
                    text = closed_entry(ctx, ticket, who(ticket, names))
                else:
                    text = ticket_entry(ctx, ticket, who(ticket, names))
                out.append((text, (Raw(ticket.number), f"{code}:{ticket.id}")))
            return out
        return fetch

    sections = []
    for group in groups:
        count = await q.count_tickets(session, group)
        sections.append(Section(heading(group.name, count), count, fetcher(group)))
    return sections


def _address(ticket: Ticket, names: dict[int, str]) -> Raw:
    return snippet(ticket.address, FIELD)


def _engineer(ticket: Ticket, names: dict[int, str]) -> Raw | L:
    name = names.get(ticket.assignee_id) if ticket.assignee_id else None
    return snippet(name, FIELD) if name else L("sla.nobody")


async def engineer_board(ctx: Ctx, page: int = 1) -> None:
    """``/tickets``: the engineer's own tickets, grouped (see the module docstring)."""
    person = ctx.require(Role.ENGINEER)
    groups = q.engineer_groups(person, ctx.now)
    sections = await ticket_sections(ctx.session, ctx, groups, code="card", who=_address)
    view = View(L("board.title.engineer"), Msg("eng.no_tickets"), nav="tks", ref="board:engineer")
    await show(ctx, view, sections, page)


# -- /board ------------------------------------------------------------------------------------
def complaint_section(ctx: Ctx, person: Person, count: int) -> Section:
    async def fetch(offset: int, limit: int) -> list[tuple[Any, Button]]:
        rows = await q.complaint_page(ctx.session, person, offset, limit)
        names = await people_names(ctx.session, {c.engineer_id for c, _ in rows})
        return [(complaint_entry(ctx, c, number, names.get(c.engineer_id, "")),
                 (L("board.btn.answer", {"number": Raw(number)}), f"cpa:{c.id}")) for c, number in rows]
    return Section(heading("complaints", count), count, fetch)


async def desk_board(ctx: Ctx, page: int = 1) -> None:
    person = ctx.require(*DESK)
    team = await ctx.session.get(Team, person.team_id) if person.team_id else None
    title = L("board.title.desk", {"team": Raw(team.name)}) if team else L("board.title.all")
    complaints = await q.count_complaints(ctx.session, person)
    groups = q.desk_groups(person, ctx.now)
    sections = [complaint_section(ctx, person, complaints),
                *await ticket_sections(ctx.session, ctx, groups, code="bdt", who=_engineer)]
    # The regulations' order, complaints first: mine, to follow, paused, closed.
    view = View(title, Msg("board.empty", {"days": q.CLOSED_DAYS}), nav="brd", ref="board:desk")
    await show(ctx, view, sections, page)


# -- /pending ----------------------------------------------------------------------------------
async def pending_board(ctx: Ctx, page: int = 1) -> None:
    person = ctx.require(Role.SUPERVISOR)
    count = await q.count_pending(ctx.session, person)

    async def fetch(offset: int, limit: int) -> list[tuple[Any, Button]]:
        rows = await q.pending_page(ctx.session, person, offset, limit)
        names = await people_names(ctx.session, {checkin.engineer_id for _, checkin, _ in rows})
        return [(pending_entry(ctx, offset + i + 1, checkin, number, names.get(checkin.engineer_id, "")),
                 (L("board.btn.ack", {"n": offset + i + 1}), f"ack:{checkin.id}"))
                for i, (_, checkin, number) in enumerate(rows)]

    view = View(L("board.pending.title", {"count": count}), Msg("board.pending.none"), nav="pnd",
                ref="board:pending")
    await show(ctx, view, [Section(None, count, fetch)], page)
