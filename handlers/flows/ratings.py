"""A rating typed instead of pressed: ``4``, ``4星``, ``四星``, ``五星好评``, ``★★★★``.

A customer asked to rate — the sign-off's **1**–**5** after **Confirm** (``rate:TICKET:N``) or the
callback survey (``cbr:TICKET:N``) — often types the number.  With no dialog open, a text that
reads as a rating (:func:`handlers.words.rating`) answers the newest rating question this person
was sent that still waits for an answer: it is handled as the button it stands for, on that
question's own message, so every check the button makes applies (who confirmed, already rated,
survey closed) and the question loses its buttons as after a press.  Any other text, or a rating
with no question waiting, is left to the core ("not sure what you mean").
"""

from __future__ import annotations

from sqlalchemy import or_, select

from handlers.context import Ctx
from handlers.registry import Routes
from handlers.screening import check_roles
from handlers.words import rating
from models.enums import CallbackState, FeedbackSource, OutboxStatus, Role, TicketStatus
from models.queries import feedback_of
from models.runtime import OutboxMessage
from models.tickets import Ticket

routes = Routes()

#: The rating questions' button codes (their messages' ``ref`` is ``CODE:TICKET``).
CODES = ("rate", "cbr")
#: The newest questions looked at: an older one is long answered or forgotten.
LOOK_BACK = 10


async def _waiting(ctx: Ctx, code: str, ticket_id: int) -> bool:
    ticket = await ctx.session.get(Ticket, ticket_id)
    if ticket is None or ticket.customer_id != ctx.person.customer_id:
        return False
    if code == "cbr":
        return ticket.callback_state in (CallbackState.SENT, CallbackState.EXPIRED)
    return ticket.status is TicketStatus.SIGNED_OFF and await feedback_of(
        ctx.session, ticket.id, FeedbackSource.SIGNOFF, since=ticket.signed_off_at) is None


async def waiting_question(ctx: Ctx) -> tuple[str, int, str | None] | None:
    """(button code, ticket id, the question's message id in this chat or None) of the newest
    rating question sent to this person that still waits for an answer."""
    rows = (await ctx.session.execute(
        select(OutboxMessage.ref, OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.external_message_id)
        .where(OutboxMessage.person_id == ctx.person.id, OutboxMessage.status == OutboxStatus.SENT,
               or_(*(OutboxMessage.ref.like(f"{code}:%") for code in CODES)))
        .order_by(OutboxMessage.id.desc()).limit(LOOK_BACK))).all()
    seen = set()
    for ref, channel, chat_id, message_id in rows:
        code, _, raw_id = ref.partition(":")
        if ref in seen or not raw_id.isdigit():
            continue
        seen.add(ref)
        if await _waiting(ctx, code, int(raw_id)):
            here = channel == ctx.inbound.channel and chat_id == ctx.inbound.chat_id
            return code, int(raw_id), message_id if here else None
    return None


@routes.on_text
async def typed_rating(ctx: Ctx) -> bool:
    if ctx.person is None or ctx.person.role is not Role.CUSTOMER:
        return False
    value = rating(ctx.inbound.text or "")
    if value is None:
        return False
    question = await waiting_question(ctx)
    route = ctx.router.callbacks.get(question[0]) if question and ctx.router else None
    if route is None:
        return False
    code, ticket_id, message_id = question
    inbound = ctx.inbound  # from here on it is the button it stands for, pressed on the question
    inbound.callback_data, inbound.message_id, inbound.text = f"{code}:{ticket_id}:{value}", message_id, None
    check_roles(ctx.person, route.roles)
    await route.fn(ctx)
    return True
