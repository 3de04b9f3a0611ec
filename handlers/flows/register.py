"""Registration in chat (登记): ``/new`` for dispatchers and supervisors.

The dialog asks, one at a time: the customer (a known one picked from a search, or a new one),
the contact person (skippable: then nobody is greeted by the company's name; a known customer's
contact on record is one tap), the contact phone (skipped for a known customer: theirs is on
record), the address, the product
model, its serial, the purchase date (→ in or out of warranty, shown at once), the fault symptom,
its fault type (buttons: the team's ``[faults]`` list and "other"; not asked without a list), the severity 1–4 (DESIGN §2 levels as buttons), the service type and whether it is billable; then
a summary with **Confirm** / **Cancel**.  Confirming registers the ticket (:mod:`handlers.register_done`).

Why it looks like this:

* Answers live in the dialog state (database, per chat) and nothing else is written before
  **Confirm**, so ``/cancel`` — or just walking away — leaves no trace.
* A bad answer is refused with its reason and the same question is asked again; the dialog does
  not move, so nothing is stored.
* Buttons are ``reg:RID:WHAT[:VALUE]``.  ``RID`` is new for every ``/new``; a button only works in
  the same run of the dialog and at the step it belongs to, and every value it carries goes
  through the same checks as a typed answer (a forged ``severity 7`` is refused like a typed one).
* Roles are checked by the router for ``/new`` and the buttons, and again at every typed step
  (someone demoted half-way cannot finish).
"""

from __future__ import annotations

import secrets
from datetime import date

from handlers.context import Ctx
from handlers.dialogs import button_args
from handlers.fault_types import canonical, from_button, team_fault_types
from handlers.i18n import error_text, preview
from handlers.messages import L, Raw
from handlers.register_done import confirm, drop, team_today
from handlers.register_input import contact as parse_contact
from handlers.register_input import find_customers, looks_like_phone, phone, purchase_date, typed_text, visible_customer
from handlers.register_input import billable as parse_billable
from handlers.register_input import service as parse_service
from handlers.register_input import severity as parse_severity
from handlers.register_view import facts_from_dialog, matches_message, question, warranty_line, warranty_of
from handlers.registry import Routes
from models.access import is_id
from models.blanks import is_blank
from models.enums import Role
from models.errors import DomainError

routes = Routes()

FLOW = "register"
DESK = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
#: The step after each step (a known customer jumps from ``contact`` straight to ``address``).
NEXT = {"contact": "phone", "phone": "address", "address": "model", "model": "serial", "serial": "purchased",
        "purchased": "fault", "fault": "fault_type", "fault_type": "severity", "severity": "service", "service": "billable",
        "billable": "confirm"}


def ask(ctx: Ctx, step: str, *head: L | Raw | None) -> None:
    facts = None
    if step == "confirm":
        facts = facts_from_dialog(ctx.data, ctx.app.config.bot.warranty, team_today(ctx))
    ctx.reply(question(step, ctx.data["rid"], ctx.data, *head, facts=facts),
              ref=f"regsum:{ctx.data['rid']}" if step == "confirm" else None)


def refuse(ctx: Ctx, error: DomainError) -> None:
    """Re-ask the current step with the reason the answer was refused; nothing moves."""
    ask(ctx, ctx.step, Raw(error_text(ctx.lang, error)))


def advance(ctx: Ctx, head: L | Raw | None = None, **answer: object) -> None:
    step = NEXT[ctx.step]
    ctx.goto(FLOW, step, **answer)
    ask(ctx, step, head)


@routes.command("new", roles=DESK, menu="reg.menu.new")
async def new(ctx: Ctx) -> None:
    ctx.goto(FLOW, "customer", rid=secrets.token_hex(3))
    ask(ctx, "customer")


# -- typed answers -------------------------------------------------------------------------------
async def _customer(ctx: Ctx) -> None:
    text = typed_text(ctx, "customer")
    found, more = await find_customers(ctx, text)
    offer_new = not looks_like_phone(text)
    if not found:
        if not offer_new:
            raise DomainError("reg_no_phone_match", value=preview(text))
        ctx.goto(FLOW, "contact", customer=text, customer_id=None, offered=[], query=None, known_contact=None)
        ask(ctx, "contact", L("reg.customer.new", {"customer": Raw(preview(text))}))
        return
    ctx.goto(FLOW, "customer", offered=[c.id for c in found], query=text if offer_new else None)
    ctx.reply(matches_message(ctx.data["rid"], preview(text), [(c.id, preview(c.name), c.phone) for c in found],
                              more, offer_new))


def _contact_answer(ctx: Ctx, contact: str | None) -> None:
    if ctx.data.get("customer_id") is not None:  # a known customer: their phone is on record
        ctx.goto(FLOW, "address", contact=contact)
        ask(ctx, "address")
    else:
        advance(ctx, contact=contact)


async def _contact(ctx: Ctx) -> None:
    _contact_answer(ctx, parse_contact(typed_text(ctx, "contact")))


async def _phone(ctx: Ctx) -> None:
    advance(ctx, phone=phone(typed_text(ctx, "phone")))


async def _text_field(ctx: Ctx) -> None:
    advance(ctx, **{ctx.step: typed_text(ctx, ctx.step)})


async def _serial(ctx: Ctx) -> None:
    text = typed_text(ctx, "serial")
    advance(ctx, serial=None if is_blank(text) else text)  # "无", "none", "n/a": as No serial


async def _purchased(ctx: Ctx) -> None:
    _purchase_answer(ctx, purchase_date(typed_text(ctx, "purchased"), team_today(ctx)).isoformat())


def _purchase_answer(ctx: Ctx, iso: str | None) -> None:
    # The verdict is shown at once, computed as the ticket will store it.
    purchased = date.fromisoformat(iso) if iso else None
    verdict = warranty_line(purchased, *warranty_of(purchased, ctx.app.config.bot.warranty, team_today(ctx)))
    advance(ctx, verdict, purchased=iso)


async def _fault(ctx: Ctx) -> None:
    fault = typed_text(ctx, "fault")
    offered = await team_fault_types(ctx.session, ctx.app.config.faults, ctx.person.team_id)
    if offered:  # kept with the question: a button names an entry of the list it was shown with
        advance(ctx, fault=fault, fault_types=offered)
    else:
        ctx.goto(FLOW, "severity", fault=fault, fault_types=[], fault_type=None)
        ask(ctx, "severity")


async def _fault_type(ctx: Ctx) -> None:
    text = ctx.inbound.text or ""
    value = canonical(text, ctx.data.get("fault_types", []))  # a list entry's exact name, or "other"
    if value is None:
        raise DomainError("reg_bad_fault_type", value=preview(text.strip()))
    advance(ctx, fault_type=value)


async def _severity(ctx: Ctx) -> None:
    advance(ctx, severity=parse_severity(ctx.inbound.text or ""))


async def _service(ctx: Ctx) -> None:
    advance(ctx, service=parse_service(ctx.inbound.text or "").value)


async def _billable(ctx: Ctx) -> None:
    advance(ctx, billable=parse_billable(ctx.inbound.text or ""))


async def _confirm_typed(ctx: Ctx) -> None:
    raise DomainError("reg_use_buttons")


_TYPED = {"customer": _customer, "contact": _contact, "phone": _phone, "address": _text_field, "model": _text_field,
          "serial": _serial, "purchased": _purchased, "fault": _fault, "fault_type": _fault_type,
          "severity": _severity,
          "service": _service, "billable": _billable, "confirm": _confirm_typed}


def _typed_step(step: str):  # noqa: ANN202
    async def handle(ctx: Ctx) -> None:
        ctx.require(*DESK)
        try:
            if ctx.inbound.photos or ctx.inbound.location or not (ctx.inbound.text or "").strip():
                raise DomainError("reg_text_expected")  # every answer here is typed (or a button)
            await _TYPED[step](ctx)
        except DomainError as exc:
            if not exc.code.startswith("reg_"):
                raise
            refuse(ctx, exc)
    return handle


for _step in _TYPED:
    routes.step(FLOW, _step)(_typed_step(_step))


# -- buttons -------------------------------------------------------------------------------------
async def _pick_customer(ctx: Ctx, value: str) -> None:
    if not is_id(value) or int(value) not in ctx.data.get("offered", []):
        raise DomainError("reg_stale")
    customer = await visible_customer(ctx, int(value))
    # Their phone is on record (and is how the registry finds them again): after the contact
    # person, straight to the address.
    ctx.goto(FLOW, "contact", customer=customer.name, known_contact=customer.contact_name, phone=customer.phone,
             customer_id=customer.id)
    ask(ctx, "contact", L("reg.customer.known", {"customer": Raw(customer.name), "phone": Raw(customer.phone)}))


async def _new_customer(ctx: Ctx, value: str) -> None:
    if not ctx.data.get("query"):
        raise DomainError("reg_stale")
    ctx.goto(FLOW, "contact", customer=ctx.data["query"], customer_id=None, known_contact=None)
    ask(ctx, "contact", L("reg.customer.new", {"customer": Raw(preview(ctx.data["customer"]))}))


async def _no_contact(ctx: Ctx, value: str) -> None:
    _contact_answer(ctx, None)


async def _known_contact(ctx: Ctx, value: str) -> None:
    if not ctx.data.get("known_contact"):
        raise DomainError("reg_stale")
    _contact_answer(ctx, ctx.data["known_contact"])


async def _no_serial(ctx: Ctx, value: str) -> None:
    advance(ctx, serial=None)


async def _date_unknown(ctx: Ctx, value: str) -> None:
    _purchase_answer(ctx, None)


async def _fault_type_button(ctx: Ctx, value: str) -> None:
    fault_type = from_button(value, ctx.data.get("fault_types", []))
    if fault_type is None:
        raise DomainError("reg_bad_fault_type", value=preview(value))
    advance(ctx, fault_type=fault_type)


async def _severity_button(ctx: Ctx, value: str) -> None:
    advance(ctx, severity=parse_severity(value))


async def _service_button(ctx: Ctx, value: str) -> None:
    advance(ctx, service=parse_service(value).value)


async def _billable_button(ctx: Ctx, value: str) -> None:
    if value not in ("0", "1"):
        raise DomainError("reg_bad_billable", value=preview(value))
    advance(ctx, billable=value == "1")


#: Button code → (the step it answers, what it does).
_BUTTONS = {"c": ("customer", _pick_customer), "n": ("customer", _new_customer),
            "k": ("contact", _no_contact), "o": ("contact", _known_contact), "s": ("serial", _no_serial),
            "p": ("purchased", _date_unknown), "f": ("fault_type", _fault_type_button),
            "v": ("severity", _severity_button),
            "t": ("service", _service_button), "b": ("billable", _billable_button),
            "ok": ("confirm", confirm), "x": ("confirm", drop)}


@routes.callback("reg", roles=DESK)
async def button(ctx: Ctx) -> None:
    args = button_args(ctx)
    rid, code, value = (args + ["", "", ""])[:3]
    expected = _BUTTONS.get(code)
    if ctx.flow != FLOW or not rid or rid != ctx.data.get("rid") or expected is None \
            or expected[0] != ctx.step:
        raise DomainError("reg_stale")
    try:
        await expected[1](ctx, value)
    except DomainError as exc:
        if not exc.code.startswith("reg_") or exc.code == "reg_stale":
            raise
        refuse(ctx, exc)
