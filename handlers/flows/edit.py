"""Correcting a ticket's registration from the desk (supervisor, dispatcher): **Edit** on the
``/ticket`` page (``tke:TICKET``) or ``/edit_ticket NUMBER`` shows the fields that may be corrected
(``tkf:TICKET:FIELD``: address, model, serial, contact, phone, purchase date, severity); the new
value is typed — or, where ``/new`` offers buttons, pressed (``tkv:TICKET:VALUE``: a severity, no
serial, purchase date unknown) — and checked as ``/new`` checks it; a bad answer is refused with
its reason and asked again.  The change is made by :func:`handlers.amend.edit`: a timeline entry
(old → new, who), a severity's clocks recomputed, the engineer told of a new address or severity.

Only an open ticket is corrected (:func:`models.corrections.check_editable`); role, visibility and
state are checked again at the answer, and nothing is written before it, so ``/cancel`` leaves no
trace.  A value button works only in this person's dialog, at this ticket's value step, for the
field it belongs to.
"""

from __future__ import annotations

from handlers import amend
from handlers.amend_view import value_text
from handlers.context import Ctx
from handlers.dialogs import button_args, leave_flow, start_dialog, visible_ticket, visible_ticket_by_number
from handlers.i18n import error_text
from handlers.messages import L, Lines, Msg, Raw
from handlers.register_input import phone, purchase_date, severity, typed_text
from handlers.registry import Routes
from models.access import is_id
from models.corrections import COLUMNS, FIELDS, check_editable
from models.errors import DomainError
from models.tickets import Ticket

routes = Routes()

FLOW = "edit"
#: The /new dialog's limits for the fields that are typed (``handlers.register_input.LIMITS``
#: names the contact's "customer"); the contact's column holds 120.
CONTACT_LIMIT = 120
#: The buttons a field's question offers: (label key or severity, value).
VALUE_BUTTONS = {"severity": [(f"severity.{n}", str(n)) for n in (1, 2, 3, 4)],
                 "serial": [("amend.btn.no_serial", "none")], "purchased": [("amend.btn.date_unknown", "unknown")]}


def _field_picker(ticket: Ticket) -> Msg:
    flat = [(f"amend.field_btn.{f}", f"tkf:{ticket.id}:{f}") for f in FIELDS]
    return Msg("amend.edit.pick", {"number": ticket.number},
               buttons=[flat[i:i + 2] for i in range(0, len(flat), 2)])


async def _editable(ctx: Ctx, ticket_id: object) -> Ticket:
    ticket = await visible_ticket(ctx, ticket_id)
    check_editable(ticket)
    return ticket


@routes.command("edit_ticket", roles=amend.EDITORS, menu="amend.menu.edit_ticket")
async def edit_command(ctx: Ctx) -> None:
    ticket = await visible_ticket_by_number(ctx, ctx.inbound.args)
    check_editable(ticket)
    ctx.reply(_field_picker(ticket), ticket_id=ticket.id)


@routes.callback("tke", roles=amend.EDITORS)
async def edit_button(ctx: Ctx) -> None:
    args = button_args(ctx)
    ticket = await _editable(ctx, args[0] if args and is_id(args[0]) else None)
    ctx.reply(_field_picker(ticket), ticket_id=ticket.id)


def _question(ctx: Ctx, ticket: Ticket, field: str, *head: L | Raw) -> Msg:
    now = value_text(ctx.lang, field, getattr(ticket, COLUMNS[field]))
    ask = L(f"amend.edit.ask_{field}" if field in VALUE_BUTTONS else "amend.edit.ask",
            {"number": ticket.number, "field": L(f"field.{field}"), "now": Raw(now)})
    buttons = [[(label, f"tkv:{ticket.id}:{value}")] for label, value in VALUE_BUTTONS.get(field, [])]
    return Msg(body=Lines((*head, ask)), buttons=buttons)


@routes.callback("tkf", roles=amend.EDITORS)
async def field_button(ctx: Ctx) -> None:
    args = button_args(ctx)
    if len(args) != 2 or args[1] not in FIELDS:
        raise DomainError("stale_button")
    ticket = await _editable(ctx, args[0] if is_id(args[0]) else None)
    start_dialog(ctx, FLOW, "value", ticket, field=args[1])
    ctx.reply(_question(ctx, ticket, args[1]), ticket_id=ticket.id)


def _typed(ctx: Ctx, field: str) -> object:
    """The typed answer for ``field``, checked as the ``/new`` dialog checks it (``reg_*`` refusals)."""
    if ctx.inbound.photos or ctx.inbound.location or not (ctx.inbound.text or "").strip():
        raise DomainError("reg_text_expected")
    if field == "phone":
        return phone(typed_text(ctx, "phone"))
    if field == "purchased":
        return purchase_date(typed_text(ctx, "purchased"), ctx.app.local(ctx.now).date())
    if field == "severity":
        return severity(ctx.inbound.text or "")
    text = typed_text(ctx, "customer" if field == "contact" else field)
    if field == "contact" and len(text) > CONTACT_LIMIT:
        raise DomainError("reg_too_long", limit=CONTACT_LIMIT)
    return text


def _pressed(field: str, value: str) -> object:
    """A value button's value, checked like a typed one."""
    if field == "severity":
        return severity(value)
    if (field, value) in (("serial", "none"), ("purchased", "unknown")):
        return None
    raise DomainError("stale_button")


async def _dialog_ticket(ctx: Ctx) -> Ticket | None:
    ctx.require(*amend.EDITORS)
    try:
        return await _editable(ctx, ctx.data.get("ticket_id"))
    except DomainError as exc:  # moved on (resolved, cancelled) or out of sight meanwhile
        leave_flow(ctx, exc)
        return None


async def _apply(ctx: Ctx, ticket: Ticket, field: str, value: object) -> None:
    change, reached = await amend.edit(ctx.session, ctx.app, ticket, field, value, actor=ctx.person, now=ctx.now,
                                       tell=amend.ctx_tell(ctx, ticket))
    ctx.end_flow()
    if change is None:
        ctx.reply("amend.edit.unchanged", number=ticket.number, field=L(f"field.{field}"))
        return
    lines = [L("amend.edit.done", {"number": ticket.number}), amend.change_text(change, ctx.app.tz),
             *await amend.told_line(ctx, ticket.assignee_id, reached)]
    ctx.reply(Msg(body=Lines(tuple(lines))), ticket_id=ticket.id)
    ctx.toast = ctx.t("amend.edit.toast")


@routes.step(FLOW, "value")
async def value_typed(ctx: Ctx) -> None:
    ticket = await _dialog_ticket(ctx)
    if ticket is None:
        return
    field = ctx.data.get("field")
    if field not in FIELDS:  # a dialog holding something else: nothing to correct
        leave_flow(ctx, DomainError("stale_button"))
        return
    try:
        value = _typed(ctx, field)
    except DomainError as exc:
        if not exc.code.startswith("reg_"):
            raise
        ctx.reply(_question(ctx, ticket, field, Raw(error_text(ctx.lang, exc))), ticket_id=ticket.id)
        return
    await _apply(ctx, ticket, field, value)


@routes.callback("tkv", roles=amend.EDITORS)
async def value_button(ctx: Ctx) -> None:
    args = button_args(ctx)
    if len(args) != 2 or (ctx.flow, ctx.step) != (FLOW, "value") or args[0] != str(ctx.data.get("ticket_id")):
        raise DomainError("stale_button")
    ticket = await _dialog_ticket(ctx)
    if ticket is None:
        return
    field = ctx.data.get("field", "")
    try:
        value = _pressed(field, args[1])
    except DomainError as exc:  # a forged severity 7 is refused like a typed one
        if not exc.code.startswith("reg_"):
            raise
        ctx.reply(_question(ctx, ticket, field, Raw(error_text(ctx.lang, exc))), ticket_id=ticket.id)
        return
    await _apply(ctx, ticket, field, value)
