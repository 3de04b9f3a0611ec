"""What the flows share to talk with one person: reading the pressed button, loading the ticket it
points at, entering and leaving a dialog, re-checking at every step, reading a typed answer, and
finding the bot's own earlier message to edit.

Why the checks look the way they do: button data is only a pointer, so every handler reloads the
ticket through :func:`visible_ticket` (:mod:`models.access`: role and assignment) and asks the
lifecycle whether the action is allowed *before* anything is written; a dialog re-checks at every
step, and nothing is written until its last step, so ``/cancel`` (or a dialog abandoned half-way)
leaves no trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select

from handlers.context import Ctx
from handlers.i18n import error_text
from handlers.messages import Msg, Raw
from models import access
from models.access import is_id
from models.checkins import is_late
from models.enums import Action, FeedbackSource, Role
from models.errors import DomainError
from models.lifecycle import ASSIGNED_STATES, next_status, work_under_way
from models.queries import feedback_of
from models.runtime import OutboxMessage
from models.tickets import Ticket
from models.transitions import apply_action

#: Longest free-text answer kept in a report field (a chat message is at most 4096 characters).
TEXT_LIMIT = 2000

Check = Callable[[Ticket], None]


# -- buttons and tickets -------------------------------------------------------------------------
def button_args(ctx: Ctx) -> list[str]:
    """The parts of the pressed button's data after its code (``dsp:3:7`` → ``["3", "7"]``).

    The core has already turned a plain-text fallback (``/_dsp_3_7``) into a button press."""
    return (ctx.inbound.callback_data or "").split(":")[1:]


def button_arg(ctx: Ctx, index: int = 0) -> str:
    """One numeric argument of the pressed button; anything else is a forged or stale button."""
    args = button_args(ctx)
    if index >= len(args) or not is_id(args[index]):
        raise DomainError("stale_button")
    return args[index]


def button_rating(ctx: Ctx, bad_code: str) -> int:
    """The rating 1–5 carried by a ``code:ticket:n`` button; ``bad_code`` names the refusal."""
    args = button_args(ctx)
    raw = args[1] if len(args) == 2 else ""
    if not is_id(raw) or not 1 <= int(raw) <= 5:
        raise DomainError(bad_code)
    return int(raw)


async def pressed_rating(ctx: Ctx, source: FeedbackSource, *, bad: str, already: str) -> tuple[Ticket, int]:
    """The ticket and the rating 1–5 of a pressed ``code:TICKET:N`` button; ``bad`` refuses a
    forged rating, ``already`` a second one (the customer rated this job at ``source`` before)."""
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    rating = button_rating(ctx, bad)
    given = await feedback_of(ctx.session, ticket.id, source, since=ticket.signed_off_at)
    if given is not None:
        raise DomainError(already, number=ticket.number, rating=given.rating)
    return ticket, rating


def label(text: str) -> str:
    """A button label that is plain text, not a catalog key (braces escaped for formatting)."""
    return text.replace("{", "{{").replace("}", "}}")


async def visible_ticket(ctx: Ctx, ticket_id: int | str | None) -> Ticket:
    """The ticket, if the person asking may see it (:func:`models.access.visible_ticket`)."""
    return await access.visible_ticket(ctx.session, ctx.person, ticket_id)


async def visible_ticket_by_number(ctx: Ctx, number: str) -> Ticket:
    return await access.visible_ticket_by_number(ctx.session, ctx.person, number)


def allowed(action: Action) -> Check:
    """A check that raises the lifecycle's transition error unless ``action`` is allowed now."""
    def check(ticket: Ticket) -> None:
        next_status(ticket.status, action, ticket.service_type)
    return check


async def pressed_ticket(ctx: Ctx, check: Check | None = None) -> Ticket:
    """The ticket the pressed button points at, if this person may see it and ``check`` passes."""
    args = button_args(ctx)
    if not args or not args[0]:
        raise DomainError("stale_button")
    ticket = await visible_ticket(ctx, args[0])  # checks the id is a plausible one
    if check is not None:
        check(ticket)
    return ticket


def act(ctx: Ctx, ticket: Ticket, action: Action, **kw) -> None:  # noqa: ANN003
    """Apply a lifecycle action as the person asking (raises if the state does not allow it)."""
    apply_action(ctx.session, ticket, action, now=ctx.now, actor_id=ctx.person.id if ctx.person else None,
                 clocks=ctx.app.sla, **kw)


# -- our own messages ----------------------------------------------------------------------------
async def own_message(ctx: Ctx, *, ref: str | None = None, ticket_id: int | None = None,
                      message_id: str | None = None) -> str | None:
    """The id of the bot message this update points at (the pressed message, or ``message_id``),
    if it really is one we sent to this chat about ``ref`` / ``ticket_id``; otherwise None, so a
    forged or fallback press never edits an unrelated message."""
    mid = message_id or (ctx.inbound.message_id if ctx.inbound.callback_data is not None else None)
    if mid is None:
        return None
    query = select(OutboxMessage.id).where(
        OutboxMessage.channel == ctx.inbound.channel, OutboxMessage.chat_id == ctx.inbound.chat_id,
        OutboxMessage.external_message_id == mid)
    if ref is not None:
        query = query.where(OutboxMessage.ref == ref)
    if ticket_id is not None:
        query = query.where(OutboxMessage.ticket_id == ticket_id)
    return mid if await ctx.session.scalar(query.limit(1)) is not None else None


async def sent_here(ctx: Ctx, ref: str) -> list[str]:
    """The ids of every message about ``ref`` we delivered to this chat (e.g. each question that
    still shows a **No comment** button), to edit them all."""
    return list((await ctx.session.scalars(
        select(OutboxMessage.external_message_id).where(
            OutboxMessage.channel == ctx.inbound.channel, OutboxMessage.chat_id == ctx.inbound.chat_id,
            OutboxMessage.ref == ref, OutboxMessage.external_message_id.is_not(None))
        .distinct())).all())


# -- dialogs -------------------------------------------------------------------------------------
def start_dialog(ctx: Ctx, flow: str, step: str, ticket: Ticket, **data: object) -> None:
    """Enter a dialog about ``ticket`` afresh (never merging data left by an earlier dialog of the
    same name)."""
    ctx.end_flow()
    ctx.goto(flow, step, ticket_id=ticket.id, number=ticket.number, **data)


def leave_flow(ctx: Ctx, error: DomainError) -> None:
    """End the dialog and say why, without rolling the end back (a raised error would keep the
    person stuck in a dialog about a ticket that moved on)."""
    ctx.end_flow()
    ctx.reply_error(error)


async def flow_ticket(ctx: Ctx) -> Ticket | None:
    """The dialog's ticket if this person may still see it; otherwise the dialog ends with the
    reason (:func:`leave_flow`) and None is returned: the step then writes nothing."""
    try:
        return await visible_ticket(ctx, ctx.data.get("ticket_id"))
    except DomainError as exc:
        leave_flow(ctx, exc)
        return None


async def dialog_ticket(ctx: Ctx, check: Check) -> Ticket | None:
    """Re-check, at an engineer's dialog step, that the ticket is still theirs and in the right
    state.

    If not, the dialog ends (otherwise every further answer would hit the same wall), the person
    is told why in one line, any location keyboard is removed, and None is returned: the step
    then writes nothing.
    """
    ctx.require(Role.ENGINEER)
    try:
        ticket = await visible_ticket(ctx, ctx.data.get("ticket_id"))
        check(ticket)
    except DomainError as exc:
        if exc.code == "ticket_unavailable" and ctx.data.get("number"):  # reassigned meanwhile: say which
            exc = DomainError("ticket_gone", number=ctx.data["number"])
        ctx.end_flow()
        ctx.reply(Msg(body=Raw(error_text(ctx.lang, exc)), remove_keyboard=True))
        return None
    return ticket


async def begin_on_my_ticket(ctx: Ctx, begin: Callable[[Ctx, Ticket], Awaitable[None]], *, code: str,
                             none: str, pick: str) -> None:
    """``/checkin [NUMBER]``, ``/parts [NUMBER]``: the named ticket (if it is this engineer's), the
    only one being worked on, or a pick among them — buttons ``code:TICKET``."""
    if ctx.inbound.args.strip():
        await begin(ctx, await visible_ticket_by_number(ctx, ctx.inbound.args))  # assignee only
        return
    mine = (await ctx.session.scalars(
        select(Ticket).where(Ticket.assignee_id == ctx.person.id, Ticket.status.in_(ASSIGNED_STATES))
        .order_by(Ticket.id))).all()
    workable = [t for t in mine if work_under_way(t.status, t.service_type)]
    if not workable:
        ctx.reply(none)
    elif len(workable) == 1:
        await begin(ctx, workable[0])
    else:
        ctx.reply(Msg(pick, buttons=[[(Raw(t.number), f"{code}:{t.id}")] for t in workable]))


def answer_text(ctx: Ctx, missing: str, limit: int = TEXT_LIMIT) -> str:
    """The typed answer of a dialog step; a photo, a location or nothing raises ``missing``."""
    text = (ctx.inbound.text or "").strip()
    if not text or ctx.inbound.photos or ctx.inbound.location:
        raise DomainError(missing)
    if len(text) > limit:
        raise DomainError("answer_too_long", limit=limit)
    return text


async def typed_comment(ctx: Ctx, again: Callable[[Ticket], Msg], *, code: str, too_long: str,
                        limit: int = TEXT_LIMIT) -> tuple[Ticket, str] | None:
    """The dialog's ticket and the comment typed at this step.  None (the person has been
    answered) when the ticket is gone, when nothing was typed (asked ``again``, with the question's
    **No comment** button ``code:TICKET``), or when it is longer than ``limit``."""
    ticket = await flow_ticket(ctx)
    if ticket is None:
        return None
    text = (ctx.inbound.text or "").strip()
    if not text:
        ctx.reply(again(ticket), ticket_id=ticket.id, ref=f"{code}:{ticket.id}")
        return None
    if len(text) > limit:
        ctx.reply(too_long, limit=limit)
        return None
    return ticket, text


def late_client_at(ctx: Ctx) -> datetime | None:
    """The phone's time of this message if it reached us late (after an offline spell)."""
    client_at = ctx.inbound.client_at
    return client_at if is_late(client_at, ctx.now) else None
