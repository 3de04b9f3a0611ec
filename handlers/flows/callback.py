"""The callback survey (回访) in chat, and the desk's list of callbacks to make by phone.

The customer gets the survey (sent by the scheduler's callback job) with a rating **1**–**5**
(``cbr:TICKET:N``); the answer is stored as ``Feedback(source=CALLBACK)``, then an optional comment
follows (dialog ``callback``/``comment`` or **No comment**, ``cbn:TICKET``) and a thank-you.  An
answer after the survey expired is still welcome (the desk hears it, so nobody phones for
nothing); a second answer changes nothing and says so.

``/callbacks`` (dispatcher, supervisor): the team's expired, unanswered callbacks, oldest first,
with the contact and phone to call.  After phoning, **Record the call** (``cbd:TICKET``) and the
rating the customer gave on the phone (``cbp:TICKET:N``) store it like a chat answer, so the list
only holds calls still to make.
"""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.cards import rating_buttons
from handlers.context import Ctx
from handlers.dialogs import button_arg, button_rating, leave_flow, own_message, pressed_rating, sent_here
from handlers.dialogs import typed_comment, visible_ticket
from handlers.messages import L, Lines, Msg, Raw
from handlers.registry import Routes
from handlers.views import local_time
from models.access import team_scope
from models.callbacks import delivered, desk_of
from models.customers import Customer
from models.enums import CallbackState, FeedbackSource, Role
from models.errors import DomainError
from models.queries import feedback_of
from models.tickets import Ticket
from models.transitions import record_event
from models.work import Feedback

routes = Routes()

CUSTOMER = frozenset({Role.CUSTOMER})
DESK = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
COMMENT_LIMIT = 2000
#: At most this many callbacks are listed in one message.
LIST_LIMIT = 30


async def _feedback(ctx: Ctx, ticket: Ticket) -> Feedback | None:
    return await feedback_of(ctx.session, ticket.id, FeedbackSource.CALLBACK, since=ticket.signed_off_at)


def _comment_ask(ticket: Ticket, key: str) -> Msg:
    return Msg(key, {"number": Raw(ticket.number)}, buttons=[[("followup.btn.no_comment", f"cbn:{ticket.id}")]])


@routes.callback("cbr", roles=CUSTOMER)
async def rate(ctx: Ctx) -> None:
    ticket, rating = await pressed_rating(ctx, FeedbackSource.CALLBACK, bad="callback_bad_rating",
                                          already="callback_already")
    if ticket.callback_state not in (CallbackState.SENT, CallbackState.EXPIRED):
        raise DomainError("callback_not_open", number=ticket.number)
    late = ticket.callback_state == CallbackState.EXPIRED
    ctx.session.add(Feedback(ticket_id=ticket.id, source=FeedbackSource.CALLBACK, rating=rating,
                             person_id=ctx.person.id, at=ctx.now))
    ticket.callback_state, ticket.callback_next_at = CallbackState.ANSWERED, None
    record_event(ctx.session, ticket, "callback_answered", now=ctx.now, actor_id=ctx.person.id, rating=rating,
                 late=late)
    asked = await own_message(ctx, ref=f"cbr:{ticket.id}")
    if asked:  # the survey keeps its question; the buttons give way to the answer
        ctx.reply(Msg("followup.callback.rated_line", {"number": Raw(ticket.number), "rating": rating},
                      edit_message_id=asked))
    if late:  # the desk was asked to phone: tell them it is answered after all
        for person_id in await desk_of(ctx.session, ticket.team_id):
            await ctx.notify(person_id, Msg("followup.callback.late_answer", {
                "number": Raw(ticket.number), "name": Raw(ctx.person.name), "rating": rating}),
                purpose="callback_answered", ticket_id=ticket.id)
    ctx.end_flow()
    ctx.goto("callback", "comment", ticket_id=ticket.id)
    ctx.reply(_comment_ask(ticket, "followup.callback.comment_ask"), ticket_id=ticket.id, ref=f"cbn:{ticket.id}")
    ctx.toast = ctx.t("followup.callback.toast_rated", rating=rating)


async def _finish(ctx: Ctx, ticket: Ticket, comment: str | None) -> None:
    """The question loses its **No comment** button, the dialog ends, the customer is thanked."""
    for message_id in await sent_here(ctx, f"cbn:{ticket.id}"):
        ctx.reply(Msg("followup.callback.comment_line" if comment else "followup.callback.no_comment_line",
                      edit_message_id=message_id))
    ctx.end_flow()
    ctx.reply(Msg("followup.callback.thanks", {"number": Raw(ticket.number)}), ticket_id=ticket.id)


@routes.step("callback", "comment")
async def comment_text(ctx: Ctx) -> None:
    answer = await typed_comment(ctx, lambda ticket: _comment_ask(ticket, "followup.callback.comment_again"),
                                 code="cbn", too_long="followup.callback.comment_too_long", limit=COMMENT_LIMIT)
    if answer is None:
        return
    ticket, text = answer
    feedback = await _feedback(ctx, ticket)
    if feedback is None or feedback.comment is not None:
        leave_flow(ctx, DomainError("callback_not_open", number=ticket.number))
        return
    feedback.comment = text
    record_event(ctx.session, ticket, "callback_comment", now=ctx.now, actor_id=ctx.person.id)
    await _finish(ctx, ticket, text)


@routes.callback("cbn", roles=CUSTOMER)
async def no_comment(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    feedback = await _feedback(ctx, ticket)
    if feedback is None:
        raise DomainError("callback_rate_first", number=ticket.number)
    if ctx.flow != "callback" or ctx.data.get("ticket_id") != ticket.id:
        raise DomainError("callback_already", number=ticket.number, rating=feedback.rating)
    await _finish(ctx, ticket, None)
    ctx.toast = ctx.t("followup.callback.toast_done")


# -- /callbacks ----------------------------------------------------------------------------------
@routes.command("callbacks", roles=DESK, menu="followup.menu.callbacks")
async def callbacks(ctx: Ctx) -> None:
    """Expired, unanswered callbacks of the asker's team (and tickets without a team), oldest first."""
    where = [Ticket.callback_state == CallbackState.EXPIRED, *team_scope(ctx.person)]
    total = await ctx.session.scalar(select(func.count()).select_from(Ticket).where(*where))
    if not total:
        ctx.reply("followup.callbacks.none")
        return
    rows = (await ctx.session.execute(
        select(Ticket, Customer.name).join(Customer, Customer.id == Ticket.customer_id).where(*where)
        .order_by(Ticket.signed_off_at.is_(None), Ticket.signed_off_at, Ticket.id).limit(LIST_LIMIT))).all()
    lines: list = [L("followup.callbacks.header", {"count": total})]
    for ticket, customer in rows:
        params = {"number": Raw(ticket.number), "customer": Raw(customer),
                  "contact": Raw(ticket.contact_name or customer), "phone": Raw(ticket.contact_phone),
                  "signed": Raw(local_time(ticket.signed_off_at, ctx.app.tz)),
                  "sent": Raw(local_time(delivered(ctx.app.calendar, ticket), ctx.app.tz))}
        key = "followup.callbacks.item" if ticket.callback_sent_at else "followup.callbacks.item_no_chat"
        lines.append(L(key, params))
    if total > len(rows):
        lines.append(L("followup.callbacks.more", {"count": total - len(rows)}))
    buttons = [[(L("followup.btn.record", {"number": Raw(t.number)}), f"cbd:{t.id}")] for t, _ in rows]
    ctx.reply(Msg(body=Lines(tuple(lines)), buttons=buttons))


async def _phoned(ctx: Ctx) -> Ticket:
    """The expired callback a desk person is recording a phone answer for (team checked)."""
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    given = await _feedback(ctx, ticket)
    if given is not None:
        raise DomainError("callback_answered", number=ticket.number, rating=given.rating)
    if ticket.callback_state != CallbackState.EXPIRED:
        raise DomainError("callback_not_open", number=ticket.number)
    return ticket


@routes.callback("cbd", roles=DESK)
async def record_call(ctx: Ctx) -> None:
    ticket = await _phoned(ctx)
    contact = ticket.contact_name or (await ctx.session.get(Customer, ticket.customer_id)).name  # no name given
    ctx.reply(Msg("followup.callbacks.phone_ask", {"number": Raw(ticket.number), "contact": Raw(contact)},
                  buttons=rating_buttons(ticket, "cbp")),
              ticket_id=ticket.id, ref=f"cbp:{ticket.id}")


@routes.callback("cbp", roles=DESK)
async def record_rating(ctx: Ctx) -> None:
    rating = button_rating(ctx, "callback_bad_rating")
    ticket = await _phoned(ctx)
    ctx.session.add(Feedback(ticket_id=ticket.id, source=FeedbackSource.CALLBACK, rating=rating,
                             person_id=ctx.person.id, at=ctx.now))
    ticket.callback_state, ticket.callback_next_at = CallbackState.ANSWERED, None
    record_event(ctx.session, ticket, "callback_phoned", now=ctx.now, actor_id=ctx.person.id, rating=rating)
    line = Msg("followup.callbacks.phoned", {"number": Raw(ticket.number), "rating": rating})
    asked = await own_message(ctx, ref=f"cbp:{ticket.id}")
    if asked:
        ctx.reply(Msg(line.key, line.params, edit_message_id=asked))
    else:
        ctx.reply(line, ticket_id=ticket.id)
    ctx.toast = ctx.t("followup.callback.toast_rated", rating=rating)
