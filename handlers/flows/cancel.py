"""Cancelling a ticket and reopening a finished one, from the desk (supervisor, dispatcher, manager).

* **Cancel ticket** on the ``/ticket`` page (``tcn:TICKET``) or ``/cancel_ticket NUMBER [REASON]``:
  any open ticket (new … paused).  Without a reason in the command the bot asks for one; the
  reason goes on the timeline and to the engineer and the customer (:func:`handlers.amend.cancel`).
* **Reopen** on the page (``tro:TICKET``) or ``/reopen NUMBER [REASON]``: a resolved, signed-off
  or closed ticket goes back to its engineer (accepted), the reason on the timeline; the engineer
  gets the card to go back to it, the supervisor a line.  (The customer's own way back is
  **Not fixed** under the service report, in the customer flow.)

``/cancel`` keeps its meaning — leave the dialog, nothing changed — so it never cancels a ticket:
that is ``/cancel_ticket``.  Checks as in the other desk flows: the role (router), the ticket
visible to this person (:func:`visible_ticket`: another team's ticket does not exist for them) and
its state — again when the reason arrives, since the ticket may have moved meanwhile.
"""

from __future__ import annotations

from handlers import amend
from handlers.context import Ctx
from handlers.dialogs import button_arg, leave_flow, start_dialog, visible_ticket, visible_ticket_by_number
from handlers.i18n import preview
from handlers.messages import L, Lines, Msg, Raw
from handlers.registry import Routes
from models.enums import Action
from models.errors import DomainError
from models.queries import person_name
from models.tickets import Ticket

routes = Routes()

FLOW = "amend"
#: action → its catalog section.
_SECTION = {Action.CANCEL: "cancel", Action.REOPEN: "reopen"}


def _reason(ctx: Ctx, text: str | None) -> str | None:
    """A usable reason, or None (nothing, or not text); too long is refused."""
    reason = (text or "").strip()
    if not reason or ctx.inbound.photos or ctx.inbound.location:
        return None
    if len(reason) > amend.REASON_LIMIT:
        raise DomainError("amend_reason_too_long", limit=amend.REASON_LIMIT)
    return reason


async def _begin(ctx: Ctx, ticket: Ticket, action: Action, typed: str | None = None) -> None:
    amend.check(ticket, action)
    reason = _reason(ctx, typed)
    if reason is not None:
        await _finish(ctx, ticket, action, reason)
        return
    start_dialog(ctx, FLOW, action.value, ticket)
    section = _SECTION[action]
    ctx.reply(f"amend.{section}.ask", number=ticket.number, status=L(f"status.{ticket.status.value}"),
              name=Raw(await person_name(ctx.session, ticket.assignee_id)))


async def _finish(ctx: Ctx, ticket: Ticket, action: Action, reason: str) -> None:
    engineer = ticket.assignee_id
    tell = amend.ctx_tell(ctx, ticket)
    if action is Action.CANCEL:
        told = await amend.cancel(ctx.session, ctx.app, ticket, reason=reason, actor=ctx.person, now=ctx.now,
                                  tell=tell)
        lines = [L("amend.cancel.done", {"number": ticket.number, "reason": Raw(preview(reason))}),
                 *await amend.told_line(ctx, engineer, told["engineer"]),
                 L("amend.cancel.customer_told" if told["customer"] else "amend.cancel.customer_not_told")]
        ctx.toast = ctx.t("amend.cancel.toast")
    else:
        told = await amend.reopen(ctx.session, ctx.app, ticket, reason=reason, actor=ctx.person, now=ctx.now,
                                  tell=tell, team_id=ctx.person.team_id)
        lines = [L("amend.reopen.done", {"number": ticket.number, "name": Raw(await person_name(ctx.session, engineer)),
                                         "reason": Raw(preview(reason))}),
                 *await amend.told_line(ctx, engineer, told["engineer"])]
        ctx.toast = ctx.t("amend.reopen.toast")
    ctx.end_flow()
    ctx.reply(Msg(body=Lines(tuple(lines))), ticket_id=ticket.id)


def _number_and_reason(ctx: Ctx) -> tuple[str, str]:
    number, _, rest = (ctx.inbound.args or "").strip().partition(" ")
    return number, rest


@routes.command("cancel_ticket", roles=amend.CANCELLERS, menu="amend.menu.cancel_ticket")
async def cancel_command(ctx: Ctx) -> None:
    number, reason = _number_and_reason(ctx)
    await _begin(ctx, await visible_ticket_by_number(ctx, number), Action.CANCEL, reason)


@routes.command("reopen", roles=amend.CANCELLERS, menu="amend.menu.reopen")
async def reopen_command(ctx: Ctx) -> None:
    number, reason = _number_and_reason(ctx)
    await _begin(ctx, await visible_ticket_by_number(ctx, number), Action.REOPEN, reason)


@routes.callback("tcn", roles=amend.CANCELLERS)
async def cancel_button(ctx: Ctx) -> None:
    await _begin(ctx, await visible_ticket(ctx, button_arg(ctx, 0)), Action.CANCEL)


@routes.callback("tro", roles=amend.CANCELLERS)
async def reopen_button(ctx: Ctx) -> None:
    await _begin(ctx, await visible_ticket(ctx, button_arg(ctx, 0)), Action.REOPEN)


def _reason_step(action: Action):  # noqa: ANN202
    async def step(ctx: Ctx) -> None:
        ctx.require(*amend.CANCELLERS)
        try:  # still visible to this person and still in a state the action fits
            ticket = await visible_ticket(ctx, ctx.data.get("ticket_id"))
            amend.check(ticket, action)
        except DomainError as exc:
            leave_flow(ctx, exc)
            return
        reason = _reason(ctx, ctx.inbound.text)
        if reason is None:
            ctx.reply(f"amend.{_SECTION[action]}.ask_again", number=ticket.number)
            return
        await _finish(ctx, ticket, action, reason)
    return step


routes.step(FLOW, Action.CANCEL.value)(_reason_step(Action.CANCEL))
routes.step(FLOW, Action.REOPEN.value)(_reason_step(Action.REOPEN))
