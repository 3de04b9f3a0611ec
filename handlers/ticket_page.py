"""``/ticket NUMBER`` as chat shows it (the supervisor flow's command, and a board line's button):
the ticket's fields with its SLA clocks, then the newest part of its timeline — the facts the CLI's
``fieldbot ticket show`` shows (:mod:`handlers.views`), in the reader's language."""

from __future__ import annotations

from sqlalchemy.orm.attributes import set_committed_value

from handlers.amend_view import page_buttons
from handlers.context import Ctx
from handlers.links_view import page_button as link_button
from handlers.messages import Msg, Raw
from handlers.timeline import checkins_of, timeline_lines
from handlers.verdict_text import explain_lines
from handlers.views import ticket_clocks, ticket_fields
from models.customers import Customer
from models.enums import Action, Role, TicketStatus
from models.lifecycle import allowed_actions
from models.queries import people_names, timeline
from models.tickets import Ticket
from models.verdicts import explain

#: The newest timeline entries shown in chat (a Telegram message holds 4096 characters).
TIMELINE_LIMIT = 40
TEXT_LIMIT = 4000


async def ticket_message(ctx: Ctx, ticket: Ticket) -> Msg:
    """Fields and timeline, cut to one chat message; **Reassign**, **Edit**, **Cancel ticket** and
    **Reopen** for the desk while they can be."""
    # ``Ticket.customer`` is raise_on_sql (no hidden queries): hand it the row explicitly.
    set_committed_value(ticket, "customer", await ctx.session.get(Customer, ticket.customer_id))
    events = list(await timeline(ctx.session, ticket.id))
    ids = {ticket.assignee_id} | {e.actor_id for e in events}
    for event in events:
        ids |= {v for k, v in (event.details or {}).items() if k.endswith("assignee_id") and isinstance(v, int)}
    names = await people_names(ctx.session, ids)
    tz = ctx.app.tz
    lines = [ctx.t("view.row", label=label, value=value)
             for label, value in ticket_fields(ctx.lang, ticket, tz, names, now=ctx.now, policy=ctx.app.sla) if value]
    lines.append("")
    lines.append(ctx.t("desk.ticket.timeline"))
    shown = events[-TIMELINE_LIMIT:]
    if len(shown) < len(events):
        lines.append(ctx.t("desk.ticket.earlier", count=len(events) - len(shown)))
    lines += timeline_lines(ctx.lang, shown, tz, names, checkins=checkins_of(events))
    text = "\n".join(lines)
    if len(text) > TEXT_LIMIT:
        text = text[:TEXT_LIMIT - 1] + "…"
    buttons = []
    if ticket_clocks(ticket):
        buttons.append([("desk.ticket.explain_btn", f"tkx:{ticket.id}")])
    if ctx.person.role in (Role.SUPERVISOR, Role.DISPATCHER) and Action.REASSIGN in allowed_actions(
            ticket.status, ticket.service_type):
        buttons.append([("assign.btn.reassign", f"rsr:{ticket.id}")])
    buttons += page_buttons(ctx.person.role, ticket)  # Edit, Cancel ticket, Reopen
    buttons += link_button(ctx.person.role, ticket)  # Customer link
    if ticket.status is TicketStatus.CLOSED:  # the signed service report as a PDF
        buttons.append([("service_report.button", f"srp:{ticket.id}")])
    return Msg(body=Raw(text), buttons=buttons)


async def explain_message(ctx: Ctx, ticket: Ticket) -> Msg:
    """``/ticket NUMBER sla``: for each SLA clock, the working time counted and the pauses not,
    the due time they add up to and the verdict — so a disputed verdict can be checked by hand."""
    events = list(await timeline(ctx.session, ticket.id))
    clocks = ticket_clocks(ticket)
    if not clocks:
        return Msg(body=Raw(ctx.t("desk.ticket.no_clocks", number=ticket.number)))
    lines = [ctx.t("desk.ticket.explain_title", number=ticket.number)]
    for clock in clocks:
        story = explain(ticket, events, ctx.app.sla, clock, ctx.now)
        lines += ["", *explain_lines(ctx.lang, story, ticket, ctx.app.tz, now=ctx.now, policy=ctx.app.sla)]
    text = "\n".join(lines)
    if len(text) > TEXT_LIMIT:
        text = text[:TEXT_LIMIT - 1] + "…"
    return Msg(body=Raw(text))
