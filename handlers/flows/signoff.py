"""Engineer: **Resolve** (the service report: findings → the confirmed fault type → actions taken →
parts replaced) and **Sign-off** (ask the customer in chat, or a photo of the signed paper form +
the signer's name).

The confirmed fault type is asked with buttons — the team's ``[faults]`` list, the registration's
category first, and "other" — only when the team has a list; it is stored on the ticket
(``fault_cause``) and in the resolve event's details, which the statistics count by.

The report answers are kept in the dialog and written in one go at the last step, after the
ticket is re-checked; the customer's own confirmation (``cfm:``) and rating (``rate:``) belong to
the customer flow.
"""

from __future__ import annotations

from handlers.cards import engineer_card, not_told, signoff_request
from handlers.context import Ctx
from handlers.dialogs import act, allowed, answer_text, button_args, dialog_ticket, pressed_ticket, start_dialog
from handlers.evidence import photo_record
from handlers.fault_types import buttons as fault_buttons
from handlers.fault_types import canonical, fault_label, from_button, team_fault_types
from handlers.i18n import preview
from handlers.messages import L, Lines, Msg, Raw
from handlers.notify import notify_customer, supervisor_of
from handlers.registry import Routes
from handlers.service_report import report_due
from models.checkins import add_attachments
from models.enums import Action, Role, SignoffMethod
from models.errors import DomainError
from models.queries import customer_people, person_name
from models.transitions import record_event
from models.work import Signoff

routes = Routes()

ENGINEER = frozenset({Role.ENGINEER})

#: Answers meaning "no parts were replaced".
NO_PARTS = frozenset({"none", "no", "nothing", "n/a", "na", "-", "—", "无", "没有", "无更换", "否"})
NAME_LIMIT = 120


# -- Resolve -------------------------------------------------------------------------------------
@routes.callback("rsv", roles=ENGINEER)
async def resolve(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.RESOLVE))
    start_dialog(ctx, "resolve", "findings", ticket)
    ctx.reply("eng.resolve_ask_findings", number=ticket.number)


@routes.step("resolve", "findings")
async def resolve_findings(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, allowed(Action.RESOLVE))
    if ticket is None:
        return
    findings = answer_text(ctx, "report_text_expected")
    offered = await team_fault_types(ctx.session, ctx.app.config.faults, ticket.team_id)
    if not offered:  # the team keeps no fault types: nothing to confirm
        ctx.goto("resolve", "actions", findings=findings)
        ctx.reply("eng.resolve_ask_actions")
        return
    if ticket.fault_type in offered:  # the registration's category first
        offered.insert(0, offered.pop(offered.index(ticket.fault_type)))
    # The list is kept with the question: a button names an entry of the list it was shown with.
    ctx.goto("resolve", "cause", findings=findings, fault_types=offered)
    registered = L("eng.resolve_registered_as", {"fault_type": fault_label(ticket.fault_type)}) \
        if ticket.fault_type else None
    ctx.reply(Msg(body=Lines((registered, L("eng.resolve_ask_cause"))),
                  buttons=fault_buttons(f"rsvf:{ticket.id}", offered)), ticket_id=ticket.id)


def _cause_chosen(ctx: Ctx, cause: str) -> None:
    ctx.goto("resolve", "actions", fault_cause=cause)
    ctx.reply(Msg(body=Lines((L("eng.resolve_cause_set", {"fault_type": fault_label(cause)}),
                              L("eng.resolve_ask_actions")))))


@routes.step("resolve", "cause")
async def resolve_cause_typed(ctx: Ctx) -> None:
    """A typed answer is taken when it is a list entry's exact name (or "other")."""
    if await dialog_ticket(ctx, allowed(Action.RESOLVE)) is None:
        return
    text = (ctx.inbound.text or "").strip()
    if not text or ctx.inbound.photos or ctx.inbound.location:
        raise DomainError("cause_expected")
    cause = canonical(text, ctx.data.get("fault_types", []))
    if cause is None:
        raise DomainError("cause_bad", value=preview(text))
    _cause_chosen(ctx, cause)


@routes.callback("rsvf", roles=ENGINEER)
async def resolve_cause(ctx: Ctx) -> None:
    """A fault type button ``rsvf:TICKET:INDEX`` (``o``: other), valid only at this step of this
    ticket's resolve dialog."""
    args = button_args(ctx)
    ticket_id, value = (args + ["", ""])[:2]
    if (ctx.flow, ctx.step) != ("resolve", "cause") or ticket_id != str(ctx.data.get("ticket_id")):
        raise DomainError("stale_button")
    if await dialog_ticket(ctx, allowed(Action.RESOLVE)) is None:
        return
    cause = from_button(value, ctx.data.get("fault_types", []))
    if cause is None:
        raise DomainError("stale_button")
    _cause_chosen(ctx, cause)


@routes.step("resolve", "actions")
async def resolve_actions(ctx: Ctx) -> None:
    if await dialog_ticket(ctx, allowed(Action.RESOLVE)) is None:
        return
    ctx.goto("resolve", "parts", actions_taken=answer_text(ctx, "report_text_expected"))
    ctx.reply("eng.resolve_ask_parts")


@routes.step("resolve", "parts")
async def resolve_parts(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, allowed(Action.RESOLVE))
    if ticket is None:
        return
    parts = answer_text(ctx, "report_text_expected")
    confirmed = {"fault_cause": ctx.data["fault_cause"]} if "fault_cause" in ctx.data else {}
    act(ctx, ticket, Action.RESOLVE, findings=ctx.data["findings"], actions_taken=ctx.data["actions_taken"],
        parts_replaced=None if parts.lower().strip(" .。") in NO_PARTS else parts, **confirmed)
    ctx.end_flow()
    reached = await notify_customer(ctx, ticket, Msg("eng.customer_resolved", {"number": Raw(ticket.number)}),
                                    purpose="resolved", status_update=True)
    ctx.reply(engineer_card(ticket, ctx.app.tz, L("eng.resolved"), not_told(reached)), ticket_id=ticket.id)


# -- Sign-off ------------------------------------------------------------------------------------
@routes.callback("sgn", roles=ENGINEER)
async def signoff(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.SIGN_OFF))
    ctx.reply(Msg("eng.signoff_ask", {"number": Raw(ticket.number)}, buttons=[
        [("btn.ask_customer", f"sgnc:{ticket.id}"), ("btn.paper", f"sgnp:{ticket.id}")],
    ]))


@routes.callback("sgnc", roles=ENGINEER)
async def signoff_in_chat(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.SIGN_OFF))
    if await notify_customer(ctx, ticket, signoff_request(ticket), purpose="signoff_request"):
        record_event(ctx.session, ticket, "signoff_sent", now=ctx.now, actor_id=ctx.person.id)
        told = [(pid, await person_name(ctx.session, pid))
                for pid in await customer_people(ctx.session, ticket.customer_id)]
        ctx.reply_telling("eng.signoff_sent", told=told, number=ticket.number)
    else:  # notify_customer has put "customer not reached" on the timeline
        ctx.reply(Msg("eng.signoff_unreachable", {"number": Raw(ticket.number)},
                      buttons=[[("btn.paper", f"sgnp:{ticket.id}")]]))


@routes.callback("sgnp", roles=ENGINEER)
async def signoff_paper(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.SIGN_OFF))
    start_dialog(ctx, "paper", "photo", ticket)
    ctx.reply("eng.paper_ask_photo", number=ticket.number)


@routes.step("paper", "photo")
async def paper_photo(ctx: Ctx) -> None:
    if await dialog_ticket(ctx, allowed(Action.SIGN_OFF)) is None:
        return
    photos = photo_record(ctx)
    if not photos:
        raise DomainError("paper_photo_expected")
    ctx.goto("paper", "name", photos=photos)
    ctx.reply("eng.paper_ask_name")


@routes.step("paper", "name")
async def paper_name(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, allowed(Action.SIGN_OFF))
    if ticket is None:
        return
    name = answer_text(ctx, "signer_expected", limit=NAME_LIMIT)
    record = Signoff(ticket_id=ticket.id, method=SignoffMethod.PAPER, signer_name=name,
                     collected_by_id=ctx.person.id, at=ctx.now)
    ctx.session.add(record)
    await ctx.session.flush()
    add_attachments(ctx.session, ctx.data.get("photos", []), ticket_id=ticket.id, channel=ctx.inbound.channel,
                    now=ctx.now, signoff_id=record.id)
    act(ctx, ticket, Action.SIGN_OFF, method=SignoffMethod.PAPER.value, signoff_id=record.id, signer=name)
    act(ctx, ticket, Action.CLOSE)
    ctx.end_flow()
    reached = await notify_customer(ctx, ticket, Msg("eng.customer_thanks", {"number": Raw(ticket.number)}),
                                    purpose="closed")
    await report_due(ctx, ticket, await supervisor_of(ctx, ticket))  # the PDF, made after commit
    ctx.reply(Msg(body=Lines((L("eng.paper_done", {"name": Raw(preview(name)), "number": Raw(ticket.number)}),
                              not_told(reached)))), ticket_id=ticket.id)
