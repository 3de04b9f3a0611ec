"""Supervisor desk: acknowledging check-ins (button ``ack:CHECKIN`` or a reply to the check-in
message, which is also relayed to the engineer), and ``/ticket NUMBER`` — fields and timeline.

Only the acknowledgement's supervisor, or the manager of the ticket's team (escalation), may
acknowledge; a second acknowledgement changes nothing and says who was first.
"""

from __future__ import annotations

from sqlalchemy import select

from handlers.cards import checkin_message
from handlers.context import Ctx
from handlers.dialogs import button_arg, own_message, visible_ticket, visible_ticket_by_number
from handlers.evidence import attachment_findings
from handlers.messages import L, Lines, Msg, Raw
from handlers.registry import Routes
from handlers.times import When
from handlers.ticket_page import explain_message, ticket_message
from models.enums import Role
from models.errors import DomainError
from models.queries import person_name, team_of
from models.runtime import OutboxMessage
from models.tickets import Ticket
from models.transitions import record_event
from models.work import Acknowledgement, Attachment, Checkin

routes = Routes()

ACKERS = frozenset({Role.SUPERVISOR, Role.MANAGER})
VIEWERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.MANAGER, Role.ENGINEER})
#: ``/ticket NUMBER sla`` (or 时限): the clocks explained.
EXPLAIN_WORDS = frozenset({"sla", "时限"})
#: A reply relayed to the engineer is one chat message.
TEXT_LIMIT = 4000


async def _load(ctx: Ctx, checkin_id: int) -> tuple[Acknowledgement, Checkin, Ticket]:
    """The acknowledgement of a check-in, if this person is the one to give it."""
    checkin = await ctx.session.get(Checkin, checkin_id)
    ack = await ctx.session.scalar(select(Acknowledgement).where(Acknowledgement.checkin_id == checkin_id))
    if checkin is None or ack is None:
        raise DomainError("desk_no_checkin")
    ticket = await ctx.session.get(Ticket, checkin.ticket_id)
    if ack.supervisor_id != ctx.person.id:
        team = await team_of(ctx.session, ticket)
        if not (ctx.person.role is Role.MANAGER and team is not None and team.manager_id == ctx.person.id):
            raise DomainError("desk_ack_not_yours")
    return ack, checkin, ticket


async def _acknowledge(ctx: Ctx, ack: Acknowledgement, checkin: Checkin, ticket: Ticket, *,
                       message_id: str | None, how: str) -> When:
    """Record the acknowledgement, update the supervisor's check-in message; returns when."""
    ack.acked_at, ack.acked_by_id = ctx.now, ctx.person.id
    when = When(ctx.now, ctx.app.tz)
    record_event(ctx.session, ticket, "checkin_acked", now=ctx.now, actor_id=ctx.person.id,
                 checkin_id=checkin.id, how=how)
    if message_id:
        rows = list((await ctx.session.scalars(
            select(Attachment).where(Attachment.checkin_id == checkin.id).order_by(Attachment.id))).all())
        photos = [{"file_ref": a.file_ref, "path": a.path} for a in rows]
        engineer = await person_name(ctx.session, checkin.engineer_id)
        ctx.reply(checkin_message(ticket, checkin, engineer, photos, ctx.app.tz, ctx.inbound.channel,
                                  acked=(ctx.person.name, when), edit_message_id=message_id,
                                  findings=attachment_findings(ctx, checkin, rows)))
    return when


@routes.callback("ack", roles=ACKERS)
async def acknowledge(ctx: Ctx) -> None:
    ack, checkin, ticket = await _load(ctx, int(button_arg(ctx, 0)))
    if ack.acked_at is not None:
        ctx.reply("desk.ack.already", name=Raw(await person_name(ctx.session, ack.acked_by_id)),
                  time=When(ack.acked_at, ctx.app.tz), number=ticket.number)
        ctx.toast = ctx.t("desk.ack.toast_already")
        return
    message_id = await own_message(ctx, ref=f"checkin:{checkin.id}")
    when = await _acknowledge(ctx, ack, checkin, ticket, message_id=message_id, how="button")
    await ctx.notify(checkin.engineer_id, Msg("desk.ack.engineer_told", {
        "name": Raw(ctx.person.name), "kind": L(f"desk.ack.kind_{checkin.kind.value}"),
        "number": ticket.number, "time": when}), purpose="ack", ticket_id=ticket.id)
    if message_id is None:  # pressed through the text fallback: nothing to edit, so say it
        ctx.reply("desk.ack.done", number=ticket.number, time=when)
    ctx.toast = ctx.t("desk.ack.toast")


@routes.on_reply
async def reply_to_checkin(ctx: Ctx) -> bool:
    """A supervisor's reply to a check-in message goes to the engineer and acknowledges it."""
    if ctx.person.role not in ACKERS:
        return False
    ref = await ctx.session.scalar(
        select(OutboxMessage.ref).where(
            OutboxMessage.channel == ctx.inbound.channel, OutboxMessage.chat_id == ctx.inbound.chat_id,
            OutboxMessage.external_message_id == ctx.inbound.reply_to, OutboxMessage.ref.like("checkin:%"))
        .limit(1))
    if ref is None or not ref.split(":", 1)[1].isdigit():
        return False
    ack, checkin, ticket = await _load(ctx, int(ref.split(":", 1)[1]))
    text = (ctx.inbound.text or "").strip()
    if not text:
        raise DomainError("desk_reply_needs_text")
    if len(text) > TEXT_LIMIT:
        raise DomainError("desk_reply_too_long", limit=TEXT_LIMIT)
    parts = [L("desk.ack.relay", {"name": Raw(ctx.person.name), "number": ticket.number, "text": Raw(text)})]
    if ack.acked_at is None:
        when = await _acknowledge(ctx, ack, checkin, ticket, message_id=ctx.inbound.reply_to, how="reply")
        parts.append(L("card.acked", {"name": Raw(ctx.person.name), "time": when}))
    record_event(ctx.session, ticket, "checkin_reply", now=ctx.now, actor_id=ctx.person.id,
                 checkin_id=checkin.id, text=text[:500])
    await ctx.notify(checkin.engineer_id, Msg(body=Lines(tuple(parts))), purpose="ack_reply", ticket_id=ticket.id)
    engineer = await person_name(ctx.session, checkin.engineer_id)
    ctx.reply_telling("desk.ack.relayed", told=[(checkin.engineer_id, engineer)], name=Raw(engineer))
    return True


# -- /ticket ----------------------------------------------------------------------------------
@routes.command("ticket", roles=VIEWERS, menu="desk.menu.ticket")
async def ticket_command(ctx: Ctx) -> None:
    """``/ticket NUMBER`` — fields and timeline; ``/ticket NUMBER sla`` — each clock explained."""
    number, _, rest = (ctx.inbound.args or "").strip().partition(" ")
    if rest.strip().lower() in EXPLAIN_WORDS:
        ticket = await visible_ticket_by_number(ctx, number)
        ctx.reply(await explain_message(ctx, ticket), ticket_id=ticket.id)
        return
    ticket = await visible_ticket_by_number(ctx, ctx.inbound.args)
    ctx.reply(await ticket_message(ctx, ticket), ticket_id=ticket.id)


@routes.callback("tkx", roles=VIEWERS)
async def explain_pressed(ctx: Ctx) -> None:
    """The ticket page's **SLA details** button."""
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    ctx.reply(await explain_message(ctx, ticket), ticket_id=ticket.id)
