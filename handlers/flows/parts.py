"""Parts requests on a ticket: the engineer asks (**Parts** on the card, or ``/parts [NUMBER]``),
the supervisor decides with **Approve** / **Reject**, the engineer hears the decision.

The dialog asks the part, the quantity (a whole number, re-asked until it is one) and a note
(or **No note**); nothing is written before its last step, so ``/cancel`` leaves no trace.  Each
step is a ticket event (``parts_requested`` / ``parts_approved`` / ``parts_rejected``), so the
timeline shows it; the rejection reason lives in that event's details because the
``parts_requests`` table has no column for it.

Waiting for parts usually means pausing the job, so the engineer's confirmation (and the approval
notice) carries **Pause: waiting for parts** while the ticket can pause.  Its data is the card's own
pause-with-reason button (``paur:TICKET:parts``): the pause goes through the same handler, checks
and supervisor notice as a pause chosen from the card.

Buttons: ``prt:TICKET`` (start), ``prn:TICKET`` (no note), ``pra:REQUEST`` (approve),
``prr:REQUEST`` (reject: asks the reason).  Deciding re-checks everything: the supervisor (or the
manager) must see the ticket — their own team's — and the request must still be pending.
"""

from __future__ import annotations

from handlers.cards import can_check_in, title
from handlers.context import Ctx
from handlers.dialogs import answer_text, begin_on_my_ticket, button_arg, button_args, dialog_ticket
from handlers.dialogs import leave_flow, own_message, pressed_ticket, start_dialog, visible_ticket
from handlers.i18n import preview
from handlers.messages import L, Lines, Msg, Raw
from handlers.notify import supervisor_of
from handlers.registry import Routes
from handlers.times import When, clock
from handlers.words import count
from models.access import is_id
from models.enums import Action, PartsStatus, Role
from models.errors import DomainError
from models.lifecycle import FINAL_STATES, allowed_actions
from models.queries import person_name
from models.tickets import Ticket
from models.transitions import record_event
from models.work import PartsRequest

routes = Routes()

ENGINEER = frozenset({Role.ENGINEER})

DECIDERS = frozenset({Role.SUPERVISOR, Role.MANAGER})
PART_LIMIT = 200  # the column's length
NOTE_LIMIT = 1000
REASON_LIMIT = 500
MAX_QUANTITY = 999


def _workable(ticket: Ticket) -> None:
    """Parts are asked for while the work is under way (the states a progress check-in allows)."""
    if not can_check_in(ticket):
        raise DomainError("parts_not_now", number=ticket.number, status=ticket.status.value)


def parse_quantity(text: str) -> int:
    """A whole number from 1 to :data:`MAX_QUANTITY` — ``3``, ``两个``, ``十个``, ``5件``
    (:func:`handlers.words.count`); anything else is asked again."""
    raw = text.strip()
    value = count(raw)
    if value is None or not 1 <= value <= MAX_QUANTITY:
        raise DomainError("parts_bad_quantity", value=preview(raw), max=MAX_QUANTITY)
    return value


def pause_button(ticket: Ticket) -> list[list[tuple[str, str]]]:
    """**Pause: waiting for parts**, only while the ticket can be paused."""
    if Action.PAUSE in allowed_actions(ticket.status, ticket.service_type):
        return [[("parts.btn.pause", f"paur:{ticket.id}:parts")]]
    return []


def _what(request: PartsRequest) -> dict[str, object]:
    return {"quantity": request.quantity, "part": Raw(request.part)}


# -- the engineer's dialog -----------------------------------------------------------------------
async def _begin(ctx: Ctx, ticket: Ticket) -> None:
    _workable(ticket)
    start_dialog(ctx, "parts", "part", ticket)
    ctx.reply("parts.ask_part", number=ticket.number)


@routes.callback("prt", roles=ENGINEER)
async def parts_button(ctx: Ctx) -> None:
    await _begin(ctx, await pressed_ticket(ctx))


@routes.command("parts", roles=ENGINEER, menu="parts.menu.parts")
async def parts_command(ctx: Ctx) -> None:
    await begin_on_my_ticket(ctx, _begin, code="prt", none="parts.none", pick="parts.pick")


@routes.step("parts", "part")
async def parts_part(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, _workable)
    if ticket is None:
        return
    part = answer_text(ctx, "parts_part_expected", limit=PART_LIMIT)
    ctx.goto("parts", "quantity", part=part)
    ctx.reply("parts.ask_quantity", part=Raw(preview(part)))


@routes.step("parts", "quantity")
async def parts_quantity(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, _workable)
    if ticket is None:
        return
    quantity = parse_quantity(answer_text(ctx, "parts_quantity_expected", limit=40))
    ctx.goto("parts", "note", quantity=quantity)
    ctx.reply(Msg("parts.ask_note", buttons=[[("parts.btn.no_note", f"prn:{ticket.id}")]]))


@routes.step("parts", "note")
async def parts_note(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, _workable)
    if ticket is None:
        return
    await _submit(ctx, ticket, answer_text(ctx, "parts_note_expected", limit=NOTE_LIMIT))


@routes.callback("prn", roles=ENGINEER)
async def parts_no_note(ctx: Ctx) -> None:
    args = button_args(ctx)
    if ctx.flow != "parts" or ctx.step != "note" or not args or args[0] != str(ctx.data.get("ticket_id")):
        raise DomainError("stale_button")
    ticket = await dialog_ticket(ctx, _workable)
    if ticket is None:
        return
    await _submit(ctx, ticket, None)


async def _submit(ctx: Ctx, ticket: Ticket, note: str | None) -> None:
    """Store the request, log it, send it to the supervisor, confirm with the one-tap pause."""
    request = PartsRequest(ticket_id=ticket.id, requested_by_id=ctx.person.id, part=ctx.data["part"],
                           quantity=int(ctx.data["quantity"]), note=note, status=PartsStatus.PENDING,
                           created_at=ctx.now)
    ctx.session.add(request)
    await ctx.session.flush()
    record_event(ctx.session, ticket, "parts_requested", now=ctx.now, actor_id=ctx.person.id,
                 request_id=request.id, part=request.part, quantity=request.quantity)
    ctx.end_flow()
    supervisor_id = await supervisor_of(ctx, ticket)
    sent = supervisor_id is not None and await ctx.notify(
        supervisor_id, request_message(ticket, request, ctx.person.name), purpose="parts_request",
        ticket_id=ticket.id, ref=f"parts:{request.id}", dedupe=f"parts:{request.id}:supervisor")
    # The engineer's own words come back as a preview; the supervisor's card has them in full.
    parts = [L("parts.sent" if sent else "parts.not_sent", {"number": ticket.number, "quantity": request.quantity,
                                                            "part": Raw(preview(request.part))})]
    if sent and (note := ctx.held_note(supervisor_id, await person_name(ctx.session, supervisor_id))):
        parts.append(note)
    buttons = pause_button(ticket)
    if buttons:
        parts.append(L("parts.pause_hint"))
    ctx.reply(Msg(body=Lines(tuple(parts)), buttons=buttons), ticket_id=ticket.id)


def request_message(ticket: Ticket, request: PartsRequest, engineer: str, *,
                    decided: L | None = None, edit_message_id: str | None = None) -> Msg:
    """The supervisor's view of a request; once decided the buttons give way to who and when."""
    parts = [L("parts.request_head", {"engineer": Raw(engineer), "number": ticket.number}), title(ticket),
             L("parts.request_line", _what(request))]
    if request.note:
        parts.append(L("parts.request_note", {"note": Raw(request.note)}))
    if decided is not None:
        parts.append(decided)
    buttons = [] if decided is not None else [[("parts.btn.approve", f"pra:{request.id}"),
                                               ("parts.btn.reject", f"prr:{request.id}")]]
    return Msg(body=Lines(tuple(parts)), buttons=buttons, edit_message_id=edit_message_id)


# -- the supervisor's decision -------------------------------------------------------------------
async def _pending(ctx: Ctx, request_id: object) -> tuple[PartsRequest, Ticket]:
    """The request, if this person may decide it (their team's ticket) and it is still open."""
    ctx.require(*DECIDERS)
    request = await ctx.session.get(PartsRequest, int(request_id)) if is_id(str(request_id)) else None
    if request is None:
        raise DomainError("parts_no_request")
    ticket = await visible_ticket(ctx, request.ticket_id)
    if request.status is not PartsStatus.PENDING:
        raise DomainError(f"parts_already_{request.status.value}", number=ticket.number,
                          name=await person_name(ctx.session, request.decided_by_id),
                          time=clock(ctx.lang, request.decided_at, ctx.app.tz, ctx.now))
    if ticket.status in FINAL_STATES:
        raise DomainError("parts_ticket_closed", number=ticket.number, status=ticket.status.value)
    return request, ticket


async def _decided(ctx: Ctx, ticket: Ticket, request: PartsRequest, decided: L, message_id: str | None) -> None:
    """Update the supervisor's request message (if we know it) and tell the engineer."""
    engineer = await person_name(ctx.session, request.requested_by_id)
    if message_id:
        ctx.reply(request_message(ticket, request, engineer, decided=decided, edit_message_id=message_id))
    approved = request.status is PartsStatus.APPROVED
    parts = [L("parts.engineer_approved" if approved else "parts.engineer_rejected",
               {"name": Raw(ctx.person.name), "number": ticket.number, **_what(request),
                "reason": decided.params.get("reason", "")})]
    buttons = pause_button(ticket) if approved and ticket.assignee_id == request.requested_by_id else []
    if buttons:
        parts.append(L("parts.pause_hint"))
    await ctx.notify(request.requested_by_id, Msg(body=Lines(tuple(parts)), buttons=buttons),
                     purpose="parts_decision", ticket_id=ticket.id, dedupe=f"parts:{request.id}:decision")


@routes.callback("pra", roles=DECIDERS)
async def approve(ctx: Ctx) -> None:
    request, ticket = await _pending(ctx, button_arg(ctx, 0))
    request.status, request.decided_by_id, request.decided_at = PartsStatus.APPROVED, ctx.person.id, ctx.now
    record_event(ctx.session, ticket, "parts_approved", now=ctx.now, actor_id=ctx.person.id,
                 request_id=request.id, part=request.part, quantity=request.quantity)
    message_id = await own_message(ctx, ref=f"parts:{request.id}")
    await _decided(ctx, ticket, request, L("parts.approved_line", {
        "name": Raw(ctx.person.name), "time": When(ctx.now, ctx.app.tz)}), message_id)
    if message_id is None:  # pressed through the text fallback: nothing to edit, so say it
        ctx.reply("parts.approved_done", number=ticket.number, **_what(request))
    ctx.toast = ctx.t("parts.toast_approved")


@routes.callback("prr", roles=DECIDERS)
async def reject(ctx: Ctx) -> None:
    request, ticket = await _pending(ctx, button_arg(ctx, 0))
    ctx.end_flow()
    ctx.goto("parts_reject", "reason", request_id=request.id,
             message_id=await own_message(ctx, ref=f"parts:{request.id}"))
    ctx.reply("parts.reject_ask", number=ticket.number, **_what(request))


@routes.step("parts_reject", "reason")
async def reject_reason(ctx: Ctx) -> None:
    try:
        request, ticket = await _pending(ctx, ctx.data.get("request_id"))
    except DomainError as exc:  # decided by someone else meanwhile, or no longer theirs
        leave_flow(ctx, exc)
        return
    reason = answer_text(ctx, "parts_reason_expected", limit=REASON_LIMIT)
    request.status, request.decided_by_id, request.decided_at = PartsStatus.REJECTED, ctx.person.id, ctx.now
    record_event(ctx.session, ticket, "parts_rejected", now=ctx.now, actor_id=ctx.person.id,
                 request_id=request.id, part=request.part, quantity=request.quantity, reason=reason)
    message_id = ctx.data.get("message_id")
    ctx.end_flow()
    await _decided(ctx, ticket, request, L("parts.rejected_line", {
        "name": Raw(ctx.person.name), "time": When(ctx.now, ctx.app.tz), "reason": Raw(reason)}), message_id)
    ctx.reply("parts.rejected_done", number=ticket.number, **_what(request))
