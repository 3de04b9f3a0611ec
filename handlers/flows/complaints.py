"""Complaints (DESIGN §2: recorded against the ticket and the engineer).

The customer: ``/complain [NUMBER]`` — which ticket (asked with buttons when their company has
several), then what went wrong, with a photo if they like (a photo with a caption gives both at
once; otherwise **Send without a photo**).  Nothing is written before the complaint is complete, so
``/cancel`` leaves no trace.  The complaint row keeps the ticket and the engineer assigned at that
moment; photos are attachments pointing at it.

The supervisor and the team's manager are alerted at once — a complaint is urgent, so the alert is
not held back for quiet hours — with **Answer** (``cpa:COMPLAINT``); the desk board shows the same
button on every open complaint.  Answering asks for the text, stores it on the complaint and sends
it to the customer who complained.

Buttons: ``cpt:TICKET`` (pick the ticket), ``cpn:TICKET`` (no photo), ``cpa:COMPLAINT`` (answer).
Every press re-checks: a customer sees only their own company's tickets, an answerer only their
own team's, and a complaint is answered once.
"""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.cards import title
from handlers.context import Ctx, push
from handlers.dialogs import TEXT_LIMIT, answer_text, button_arg, button_args, flow_ticket, leave_flow
from handlers.dialogs import own_message, visible_ticket, visible_ticket_by_number
from handlers.evidence import more_photos, photo_record, photos_to_send
from handlers.messages import L, Lines, Msg, Raw
from handlers.notify import supervisor_of
from handlers.registry import Routes
from handlers.times import When, clock
from models.access import is_id
from models.checkins import add_attachments
from models.enums import Role
from models.errors import DomainError
from models.queries import person_name, team_of
from models.tickets import Ticket
from models.transitions import record_event
from models.work import Attachment, Complaint

routes = Routes()

CUSTOMER = frozenset({Role.CUSTOMER})
ANSWERERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.MANAGER})
#: At most this many tickets (the newest) are offered as buttons.
PICK_LIMIT = 10


# -- the customer's complaint --------------------------------------------------------------------
def _begin(ctx: Ctx, ticket: Ticket) -> None:
    ctx.end_flow()
    ctx.goto("complain", "text", ticket_id=ticket.id, photos=[])
    ctx.reply("complaints.ask_text", number=ticket.number)


@routes.command("complain", roles=CUSTOMER, menu="complaints.menu.complain")
async def complain(ctx: Ctx) -> None:
    if ctx.inbound.args.strip():
        _begin(ctx, await visible_ticket_by_number(ctx, ctx.inbound.args))  # own company only
        return
    tickets = []
    if ctx.person.customer_id is not None:
        tickets = (await ctx.session.scalars(
            select(Ticket).where(Ticket.customer_id == ctx.person.customer_id)
            .order_by(Ticket.id.desc()).limit(PICK_LIMIT))).all()
    if not tickets:
        ctx.reply("complaints.none")
    elif len(tickets) == 1:
        _begin(ctx, tickets[0])
    else:
        ctx.reply(Msg("complaints.pick", buttons=[
            [(Raw(f"{t.number} · {t.product_model}"), f"cpt:{t.id}")] for t in tickets]))


@routes.callback("cpt", roles=CUSTOMER)
async def pick(ctx: Ctx) -> None:
    _begin(ctx, await visible_ticket(ctx, button_arg(ctx, 0)))


@routes.step("complain", "text")
async def complaint_text(ctx: Ctx) -> None:
    ticket = await flow_ticket(ctx)
    if ticket is None:
        return
    photos = more_photos(ctx, ctx.data.get("photos", []))
    text = (ctx.inbound.text or "").strip()
    if ctx.inbound.location or not (text or ctx.inbound.photos):
        raise DomainError("complaint_text_expected")
    if len(text) > TEXT_LIMIT:
        raise DomainError("answer_too_long", limit=TEXT_LIMIT)
    if not text:  # a photo first: keep it, the words are still needed
        ctx.goto("complain", "text", photos=photos)
        ctx.reply("complaints.photo_got", count=len(photos))
    elif photos:
        await _record(ctx, ticket, text, photos)
    else:
        ctx.goto("complain", "photo", text=text)
        ctx.reply(Msg("complaints.ask_photo", buttons=[[("complaints.btn.no_photo", f"cpn:{ticket.id}")]]))


@routes.step("complain", "photo")
async def complaint_photo(ctx: Ctx) -> None:
    ticket = await flow_ticket(ctx)
    if ticket is None:
        return
    photos = photo_record(ctx)
    if not photos:
        raise DomainError("complaint_photo_expected")
    text = ctx.data.get("text", "")
    caption = (ctx.inbound.text or "").strip()
    if caption and len(text) + len(caption) < TEXT_LIMIT:
        text = f"{text}\n{caption}"
    await _record(ctx, ticket, text, photos)


@routes.callback("cpn", roles=CUSTOMER)
async def no_photo(ctx: Ctx) -> None:
    args = button_args(ctx)
    if ctx.flow != "complain" or ctx.step != "photo" or not args or args[0] != str(ctx.data.get("ticket_id")):
        raise DomainError("stale_button")
    ticket = await flow_ticket(ctx)
    if ticket is None:
        return
    await _record(ctx, ticket, ctx.data.get("text", ""), [])


async def _record(ctx: Ctx, ticket: Ticket, text: str, photos: list[dict]) -> None:
    """Store the complaint and its photos, log it, alert the desk at once, confirm to the customer."""
    complaint = Complaint(ticket_id=ticket.id, engineer_id=ticket.assignee_id, customer_person_id=ctx.person.id,
                          text=text, created_at=ctx.now)
    ctx.session.add(complaint)
    await ctx.session.flush()
    add_attachments(ctx.session, photos, ticket_id=ticket.id, channel=ctx.inbound.channel, now=ctx.now,
                    complaint_id=complaint.id)
    record_event(ctx.session, ticket, "complaint_made", now=ctx.now, actor_id=ctx.person.id,
                 complaint_id=complaint.id, photos=len(photos))
    ctx.end_flow()
    alert = await complaint_message(ctx, ticket, complaint, len(photos))
    alert.photos = photos_to_send(ctx, photos)
    alerted = False
    for person_id in await _alerted(ctx, ticket):
        alerted |= await push(ctx.session, ctx.app, person_id, alert, purpose="complaint", ticket_id=ticket.id,
                              dedupe=f"complaint:{complaint.id}:{person_id}", now=ctx.now,
                              ref=f"complaint:{complaint.id}", urgent=True)
    if not alerted:  # nobody to alert in chat: the desk board still lists it until answered
        record_event(ctx.session, ticket, "complaint_unalerted", now=ctx.now, complaint_id=complaint.id)
    ctx.reply("complaints.recorded" if alerted else "complaints.recorded_unalerted", ticket_id=ticket.id,
              number=ticket.number)


async def _alerted(ctx: Ctx, ticket: Ticket) -> list[int]:
    """The ticket team's supervisor and manager (each once)."""
    team = await team_of(ctx.session, ticket)
    people = [await supervisor_of(ctx, ticket), team.manager_id if team else None]
    return list(dict.fromkeys(p for p in people if p is not None))


async def complaint_message(ctx: Ctx, ticket: Ticket, complaint: Complaint, photos: int, *,
                            answered: L | None = None, edit_message_id: str | None = None) -> Msg:
    """The desk's view of a complaint: who, which ticket and engineer, the text; **Answer** until
    it is answered."""
    engineer = await person_name(ctx.session, complaint.engineer_id)
    parts = [
        L("complaints.alert_head", {"customer": Raw(await person_name(ctx.session, complaint.customer_person_id)),
                                    "number": ticket.number}),
        title(ticket),
        L("complaints.alert_engineer", {"name": Raw(engineer)}) if engineer else L("complaints.alert_no_engineer"),
        Raw(complaint.text),
        L("card.photos", {"count": photos}) if photos else None,
        answered,
    ]
    buttons = [] if answered is not None else [[("complaints.btn.answer", f"cpa:{complaint.id}")]]
    return Msg(body=Lines(tuple(parts)), buttons=buttons, edit_message_id=edit_message_id)


# -- the desk's answer ---------------------------------------------------------------------------
async def _open_complaint(ctx: Ctx, complaint_id: object) -> tuple[Complaint, Ticket]:
    """The complaint, if this person may answer it (their team's ticket) and nobody has yet."""
    ctx.require(*ANSWERERS)
    complaint = await ctx.session.get(Complaint, int(complaint_id)) if is_id(str(complaint_id)) else None
    if complaint is None:
        raise DomainError("complaint_unknown")
    ticket = await visible_ticket(ctx, complaint.ticket_id)
    if complaint.answered_at is not None:
        raise DomainError("complaint_answered_already", number=ticket.number,
                          name=await person_name(ctx.session, complaint.answered_by_id),
                          time=clock(ctx.lang, complaint.answered_at, ctx.app.tz, ctx.now))
    return complaint, ticket


@routes.callback("cpa", roles=ANSWERERS)
async def answer(ctx: Ctx) -> None:
    complaint, ticket = await _open_complaint(ctx, button_arg(ctx, 0))
    ctx.end_flow()
    ctx.goto("complaint_answer", "text", complaint_id=complaint.id,
             message_id=await own_message(ctx, ref=f"complaint:{complaint.id}"))
    ctx.reply("complaints.answer_ask", number=ticket.number,
              customer=Raw(await person_name(ctx.session, complaint.customer_person_id)))


@routes.step("complaint_answer", "text")
async def answer_given(ctx: Ctx) -> None:
    try:
        complaint, ticket = await _open_complaint(ctx, ctx.data.get("complaint_id"))
    except DomainError as exc:  # answered by someone else meanwhile, or no longer theirs
        leave_flow(ctx, exc)
        return
    text = answer_text(ctx, "complaint_answer_expected")
    complaint.answered_at, complaint.answered_by_id, complaint.answer = ctx.now, ctx.person.id, text
    record_event(ctx.session, ticket, "complaint_answered", now=ctx.now, actor_id=ctx.person.id,
                 complaint_id=complaint.id)
    message_id = ctx.data.get("message_id")
    ctx.end_flow()
    if message_id:
        photos = await ctx.session.scalar(
            select(func.count(Attachment.id)).where(Attachment.complaint_id == complaint.id))
        ctx.reply(await complaint_message(ctx, ticket, complaint, photos or 0, edit_message_id=message_id, answered=L(
            "complaints.answered_line", {"name": Raw(ctx.person.name), "time": When(ctx.now, ctx.app.tz)})))
    reached = await ctx.notify(complaint.customer_person_id, Msg("complaints.customer_answer", {
        "number": ticket.number, "name": Raw(ctx.person.name), "text": Raw(text)}),
        purpose="complaint_answer", ticket_id=ticket.id, dedupe=f"complaint:{complaint.id}:answer")
    customer = await person_name(ctx.session, complaint.customer_person_id)
    ctx.reply_telling("complaints.answer_sent" if reached else "complaints.answer_unsent", ticket_id=ticket.id,
                      told=[(complaint.customer_person_id, customer)], number=ticket.number, customer=Raw(customer))
