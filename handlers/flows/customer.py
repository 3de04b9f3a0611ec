"""The customer's side: ``/status`` of their open tickets, and sign-off in chat — **Confirm**
(``cfm:TICKET``), a rating **1**–**5** (``rate:TICKET:N``), an optional comment (dialog
``comment``/``text`` or **No comment**, ``nocmt:TICKET``), after which the ticket is closed and the
engineer and supervisor hear how it went.  Or **Not fixed** (``nfx:TICKET``) under the service
report: the customer says what is still wrong (dialog ``dispute``/``text``) and the ticket is
reopened to its engineer (:func:`handlers.amend.reopen`); the dispute is on the timeline and the job
no longer counts as fixed on the first visit.

A customer sees only their own company's tickets (:func:`visible_ticket`); a second confirm or
rating changes nothing and says so.
"""

from __future__ import annotations

from sqlalchemy import select

from handlers import amend
from handlers.cards import rating_buttons, signoff_request
from handlers.context import Ctx
from handlers.dialogs import act, button_arg, flow_ticket, leave_flow, own_message, pressed_rating, sent_here
from handlers.dialogs import start_dialog, typed_comment, visible_ticket
from handlers.messages import L, Lines, Msg, Raw
from handlers.notify import supervisor_of
from handlers.registry import Routes
from handlers.service_report import report_due
from handlers.times import When
from handlers.views import local_time
from models.enums import Action, FeedbackSource, Role, SignoffMethod, TicketStatus
from models.errors import DomainError
from models.lifecycle import FINAL_STATES
from models.queries import feedback_of, person_name
from models.tickets import Ticket
from models.transitions import record_event
from models.work import Feedback, Signoff

routes = Routes()

CUSTOMER = frozenset({Role.CUSTOMER})
COMMENT_LIMIT = 2000


@routes.command("status", roles=CUSTOMER, menu="desk.menu.status")
async def status(ctx: Ctx) -> None:
    tickets = []
    if ctx.person.customer_id is not None:
        tickets = (await ctx.session.scalars(
            select(Ticket).where(Ticket.customer_id == ctx.person.customer_id, Ticket.status.notin_(FINAL_STATES))
            .order_by(Ticket.id))).all()
    if not tickets:
        ctx.reply("desk.customer.status_none")
        return
    lines: list = [L("desk.customer.status_header")]
    for ticket in tickets:
        lines.append(L("desk.customer.status_item", {"number": ticket.number, "model": Raw(ticket.product_model),
                                                     "status": L(f"status.{ticket.status.value}")}))
        if ticket.assignee_id and ticket.status is not TicketStatus.NEW:
            lines.append(L("desk.customer.status_engineer", {"name": Raw(await person_name(ctx.session, ticket.assignee_id))}))
        if ticket.status is TicketStatus.EN_ROUTE and ticket.eta_at:
            lines.append(L("desk.customer.status_eta", {"time": When(ticket.eta_at, ctx.app.tz)}))
    ctx.reply(Msg(body=Lines(tuple(lines))))


def _comment_ask(ticket: Ticket, key: str) -> Msg:
    return Msg(key, buttons=[[("desk.btn.no_comment", f"nocmt:{ticket.id}")]])


async def _feedback(ctx: Ctx, ticket: Ticket) -> Feedback | None:
    return await feedback_of(ctx.session, ticket.id, FeedbackSource.SIGNOFF, since=ticket.signed_off_at)


@routes.callback("cfm", roles=CUSTOMER)
async def confirm(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    signed = await ctx.session.scalar(select(Signoff.id).where(  # of this resolution (not one before a reopen)
        Signoff.ticket_id == ticket.id, Signoff.at >= (ticket.resolved_at or ticket.created_at)).limit(1))
    if signed is not None or ticket.status in (TicketStatus.SIGNED_OFF, TicketStatus.CLOSED):
        raise DomainError("desk_already_confirmed", number=ticket.number)
    if ticket.status is not TicketStatus.RESOLVED:
        raise DomainError("desk_nothing_to_confirm", number=ticket.number, status=ticket.status.value)
    request = await own_message(ctx, ticket_id=ticket.id)
    if request:  # the request keeps its summary; the button gives way to the confirmation
        body = signoff_request(ticket).body
        ctx.reply(Msg(body=Lines((body, L("desk.customer.confirmed_line", {"time": Raw(local_time(ctx.now, ctx.app.tz))}))),
                      edit_message_id=request))
    ctx.session.add(Signoff(ticket_id=ticket.id, method=SignoffMethod.CHAT, confirmed_by_id=ctx.person.id, at=ctx.now))
    act(ctx, ticket, Action.SIGN_OFF, channel=ctx.inbound.channel.value)  # the service report names the chat
    ctx.reply(Msg("desk.customer.rate_ask", {"number": ticket.number}, buttons=rating_buttons(ticket)),
              ticket_id=ticket.id, ref=f"rate:{ticket.id}")
    ctx.toast = ctx.t("desk.customer.toast_confirmed")


async def _confirmer_only(ctx: Ctx, ticket: Ticket) -> None:
    """Several people at the customer may follow a ticket: the first to confirm it rates it (and
    comments); the others are told who confirmed."""
    by = await ctx.session.scalar(select(Signoff.confirmed_by_id).where(
        Signoff.ticket_id == ticket.id, Signoff.at >= (ticket.resolved_at or ticket.created_at))
        .order_by(Signoff.id.desc()).limit(1))
    if by is not None and by != ctx.person.id:
        raise DomainError("desk_confirmed_by_other", number=ticket.number, name=await person_name(ctx.session, by))


@routes.callback("rate", roles=CUSTOMER)
async def rate(ctx: Ctx) -> None:
    await _confirmer_only(ctx, await visible_ticket(ctx, button_arg(ctx, 0)))
    ticket, rating = await pressed_rating(ctx, FeedbackSource.SIGNOFF, bad="desk_bad_rating",
                                          already="desk_already_rated")
    if ticket.status is not TicketStatus.SIGNED_OFF:
        raise DomainError("desk_confirm_first", number=ticket.number)
    ctx.session.add(Feedback(ticket_id=ticket.id, source=FeedbackSource.SIGNOFF, rating=rating,
                             person_id=ctx.person.id, at=ctx.now))
    record_event(ctx.session, ticket, "rated", now=ctx.now, actor_id=ctx.person.id, rating=rating)
    asked = await own_message(ctx, ref=f"rate:{ticket.id}")
    if asked:
        ctx.reply(Msg("desk.customer.rated_line", {"number": ticket.number, "rating": rating}, edit_message_id=asked))
    ctx.goto("comment", "text", ticket_id=ticket.id)
    ctx.reply(_comment_ask(ticket, "desk.customer.comment_ask"), ticket_id=ticket.id, ref=f"nocmt:{ticket.id}")
    ctx.toast = ctx.t("desk.customer.toast_rated", rating=rating)


async def _close(ctx: Ctx, ticket: Ticket, comment: str | None) -> None:
    """Store the comment, close the ticket, thank the customer, tell engineer and supervisor."""
    feedback = await _feedback(ctx, ticket)
    if ticket.status is TicketStatus.CLOSED:
        raise DomainError("desk_already_closed", number=ticket.number)
    if feedback is None:
        raise DomainError("desk_rate_first", number=ticket.number)
    feedback.comment = comment
    act(ctx, ticket, Action.CLOSE)
    for message_id in await sent_here(ctx, f"nocmt:{ticket.id}"):  # the questions lose their No comment button
        ctx.reply(Msg("desk.customer.comment_line" if comment else "desk.customer.no_comment_line",
                      edit_message_id=message_id))
    if ctx.flow == "comment":
        ctx.end_flow()
    ctx.reply(Msg("desk.customer.thanks", {"number": ticket.number}), ticket_id=ticket.id)
    parts = [L("desk.customer.signed_notice", {"number": ticket.number, "name": Raw(ctx.person.name),
                                               "rating": feedback.rating})]
    if comment:
        parts.append(L("desk.customer.signed_comment", {"text": Raw(comment)}))
    told = set()
    supervisor_id = await supervisor_of(ctx, ticket)
    for person_id in (ticket.assignee_id, supervisor_id):
        if person_id is not None and person_id not in told:
            told.add(person_id)
            await ctx.notify(person_id, Msg(body=Lines(tuple(parts))), purpose="closed", ticket_id=ticket.id)
    await report_due(ctx, ticket, supervisor_id)  # the signed service report as a PDF, made after commit


@routes.step("comment", "text")
async def comment_text(ctx: Ctx) -> None:
    answer = await typed_comment(ctx, lambda ticket: _comment_ask(ticket, "desk.customer.comment_again"),
                                 code="nocmt", too_long="desk.customer.comment_too_long", limit=COMMENT_LIMIT)
    if answer is None:
        return
    ticket, text = answer
    if ticket.status is not TicketStatus.SIGNED_OFF:
        leave_flow(ctx, DomainError("desk_already_closed", number=ticket.number))
        return
    await _close(ctx, ticket, text)


@routes.callback("nocmt", roles=CUSTOMER)
async def no_comment(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    await _confirmer_only(ctx, ticket)
    await _close(ctx, ticket, None)
    ctx.toast = ctx.t("desk.customer.toast_closed")


# -- Not fixed: the customer disputes the service report ---------------------------------------
def _disputable(ticket: Ticket) -> None:
    if ticket.status is not TicketStatus.RESOLVED:
        raise DomainError("amend_nothing_to_dispute", number=ticket.number, status=ticket.status.value)


@routes.callback("nfx", roles=CUSTOMER)
async def not_fixed(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    _disputable(ticket)
    start_dialog(ctx, "dispute", "text", ticket, report=await own_message(ctx, ticket_id=ticket.id))
    ctx.reply("amend.dispute.ask", number=ticket.number)


@routes.step("dispute", "text")
async def dispute_text(ctx: Ctx) -> None:
    ticket = await flow_ticket(ctx)
    if ticket is None:
        return
    if ticket.status is not TicketStatus.RESOLVED:  # confirmed or reopened meanwhile
        leave_flow(ctx, DomainError("amend_nothing_to_dispute", number=ticket.number, status=ticket.status.value))
        return
    text = (ctx.inbound.text or "").strip()
    if not text or ctx.inbound.photos or ctx.inbound.location:
        ctx.reply("amend.dispute.ask_again", number=ticket.number)
        return
    if len(text) > amend.REASON_LIMIT:
        ctx.reply("amend.dispute.too_long", limit=amend.REASON_LIMIT)
        return
    report = await own_message(ctx, ticket_id=ticket.id, message_id=ctx.data.get("report"))
    ctx.end_flow()
    if report:  # the report keeps its summary; its buttons give way to what the customer said
        ctx.reply(Msg(body=Lines((signoff_request(ticket).body, L("amend.dispute.report_line", {
            "time": Raw(local_time(ctx.now, ctx.app.tz))}))), edit_message_id=report))
    await amend.reopen(ctx.session, ctx.app, ticket, reason=text, actor=ctx.person, now=ctx.now,
                       tell=amend.ctx_tell(ctx, ticket), dispute=True)
    ctx.reply("amend.dispute.done", number=ticket.number)
