"""Ticket helpers shared by the flows: who may see a ticket, the cards people get, check-ins with
their acknowledgement, and pushes to the customer.

Button data is only a pointer (``action:ticket_id``); every handler reloads the ticket through
:func:`visible_ticket`, which re-checks role and assignment, and the lifecycle re-checks state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from handlers.context import Ctx
from handlers.messages import L, Lines, Msg, Raw
from models.customers import Site
from models.enums import Action, CheckinKind, Role, ServiceType, TicketStatus
from models.errors import DomainError
from models.lifecycle import allowed_actions
from models.numbering import normalise_number
from models.people import Person, Team
from models.still import still
from models.tickets import Ticket
from models.transitions import apply_action, record_event
from models.work import Acknowledgement, Attachment, Checkin

#: A check-in whose phone time is this much older than its arrival is shown with both times.
LATE_AFTER_SECONDS = 120


def can_see(person: Person | None, ticket: Ticket) -> bool:
    """DESIGN §2 confidentiality: engineers see their own tickets, office staff their team's,
    customers their company's."""
    if person is None:
        return False
    if person.role is Role.ENGINEER:
        return ticket.assignee_id == person.id
    if person.role is Role.CUSTOMER:
        return person.customer_id is not None and ticket.customer_id == person.customer_id
    return ticket.team_id is None or person.team_id is None or ticket.team_id == person.team_id


#: Photos in one report (a check-in, a complaint): each leaves as its own send, one chat's pace,
#: and a report with dozens would flood the supervisor's chat (and repeat them on a retry).
MAX_PHOTOS = 10


def more_photos(ctx: Ctx, kept: list[dict]) -> list[dict]:
    """``kept`` plus this message's photos, refusing (changing nothing) past :data:`MAX_PHOTOS`."""
    photos = list(kept) + photo_record(ctx)
    if len(photos) > MAX_PHOTOS:
        raise DomainError("too_many_photos", limit=MAX_PHOTOS)
    return photos


def is_id(text: object) -> bool:
    """A row id as a button or command carries it: ASCII digits only (``"²".isdigit()`` is true
    but ``int("²")`` fails), and short enough for a 64-bit column."""
    return isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 18


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


async def visible_ticket(ctx: Ctx, ticket_id: int | str) -> Ticket:
    """The ticket, if this person may see it; otherwise ``no_ticket`` (existence is not leaked).
    Only a plausible row id is looked up: ``9999999999999999999`` does not fit the column."""
    ticket = None
    if (isinstance(ticket_id, int) and 0 < ticket_id < 2 ** 63) or is_id(ticket_id):
        ticket = await ctx.session.get(Ticket, int(ticket_id))
    if ticket is None or not can_see(ctx.person, ticket):
        raise DomainError("ticket_unavailable")  # button data is an internal id: don't echo it
    return ticket


async def visible_ticket_by_number(ctx: Ctx, number: str) -> Ticket:
    if not number.strip():
        raise DomainError("number_required")
    ticket = await ctx.session.scalar(select(Ticket).where(Ticket.number == normalise_number(number)))
    if ticket is None or not can_see(ctx.person, ticket):
        raise DomainError("no_ticket", number=number.strip())
    return ticket


def act(ctx: Ctx, ticket: Ticket, action: Action, **kw) -> None:  # noqa: ANN003
    """Apply a lifecycle action as the person asking (raises if the state does not allow it)."""
    apply_action(ctx.session, ticket, action, now=ctx.now, actor_id=ctx.person.id if ctx.person else None,
                 clocks=ctx.app.sla, **kw)


def local(ctx: Ctx, moment: datetime | None) -> str:
    return moment.astimezone(ctx.app.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def hhmm(ctx: Ctx, moment: datetime) -> str:
    return moment.astimezone(ctx.app.tz).strftime("%H:%M")


async def team_of(ctx: Ctx, ticket: Ticket) -> Team | None:
    return await ctx.session.get(Team, ticket.team_id) if ticket.team_id else None


async def supervisor_of(ctx: Ctx, ticket: Ticket) -> int | None:
    team = await team_of(ctx, ticket)
    if team and team.supervisor_id:
        return team.supervisor_id
    if ctx.person and ctx.person.team_id:
        own = await ctx.session.get(Team, ctx.person.team_id)
        return own.supervisor_id if own else None
    return None


async def person_name(ctx: Ctx, person_id: int | None) -> str:
    person = await ctx.session.get(Person, person_id) if person_id else None
    return person.name if person else ""


async def customer_people(ctx: Ctx, ticket: Ticket) -> list[int]:
    return list((await ctx.session.scalars(
        select(Person.id).where(Person.role == Role.CUSTOMER, Person.customer_id == ticket.customer_id,
                                Person.active.is_(True))
    )).all())


async def notify_customer(ctx: Ctx, ticket: Ticket, msg: Msg, *, purpose: str, ref: str | None = None,
                          status_update: bool = False) -> bool:
    """Push to the ticket's customer; if nobody has joined through the link, the timeline says so.

    ``status_update``: one of the "where is my engineer" pushes (accepted, on the way, arrived,
    resolved); after a quiet night only the newest of them reaches the customer.
    """
    reached = False
    for person_id in await customer_people(ctx, ticket):
        reached |= await ctx.notify(person_id, msg, purpose=purpose, ticket_id=ticket.id, ref=ref,
                                    supersede=f"status:{ticket.id}:{person_id}" if status_update else None)
    if not reached:
        record_event(ctx.session, ticket, "customer_not_reached", now=ctx.now, what=purpose)
    return reached


def job_offer(ticket: Ticket, engineer_id: int) -> dict:
    """What a dispatch card (or its reminder) to ``engineer_id`` carries while it may wait for the
    morning: it applies only while the job still waits for that engineer, and a newer message
    about the job to them (taken off it) replaces it."""
    return {"valid_if": still(ticket=ticket.id, status={TicketStatus.DISPATCHED}, assignee=engineer_id),
            "supersede": job_key(ticket.id, engineer_id)}


def job_key(ticket_id: int, engineer_id: int | None) -> str:
    return f"job:{ticket_id}:{engineer_id}"


def title(ticket: Ticket) -> Raw:
    return Raw(f"{ticket.number} · {ticket.product_model} · {ticket.address}")


# -- cards ---------------------------------------------------------------------------------------
_ENGINEER_BUTTONS = [
    (Action.ACCEPT, "btn.accept", "acc"),
    (Action.DECLINE, "btn.decline", "dec"),
    (Action.DEPART, "btn.depart", "go"),
    (Action.ARRIVE, "btn.arrive", "arr"),
    (Action.PAUSE, "btn.pause", "pau"),
    (Action.RESUME, "btn.resume", "res"),
    (Action.RESOLVE, "btn.resolve", "rsv"),
    (Action.SIGN_OFF, "btn.signoff", "sgn"),
]


def can_check_in(ticket: Ticket) -> bool:
    """Progress check-ins are for work under way (on site, or a desk ticket being worked)."""
    if ticket.service_type is ServiceType.ONSITE:
        return ticket.status in (TicketStatus.ON_SITE, TicketStatus.PAUSED)
    return ticket.status in (TicketStatus.ACCEPTED, TicketStatus.PAUSED)


def engineer_buttons(ticket: Ticket) -> list[list[tuple[str, str]]]:
    """Only the buttons valid in the ticket's state, two per row.  While the work is under way
    the card also offers **Check in** and **Parts** (a parts request, :mod:`handlers.flows.parts`)."""
    allowed = set(allowed_actions(ticket.status, ticket.service_type))
    flat = [(label, f"{code}:{ticket.id}") for action, label, code in _ENGINEER_BUTTONS if action in allowed]
    if can_check_in(ticket):
        flat[:0] = [("btn.checkin", f"chk:{ticket.id}"), ("parts.btn.parts", f"prt:{ticket.id}")]
    return [flat[i:i + 2] for i in range(0, len(flat), 2)]


def ticket_summary(ctx: Ctx, ticket: Ticket) -> Lines:
    parts = [
        title(ticket),
        L("card.status", {"status": L(f"status.{ticket.status.value}")}),
        L("card.severity", {"severity": L(f"severity.{ticket.severity}")}),
        L("card.service", {"service": L(f"service.{ticket.service_type.value}")}),
        L("card.contact", {"name": Raw(ticket.contact_name), "phone": Raw(ticket.contact_phone)}),
        L("card.fault", {"fault": Raw(ticket.fault_symptom)}),
    ]
    if ticket.eta_at and ticket.status is TicketStatus.EN_ROUTE:
        parts.append(L("card.eta", {"time": Raw(local(ctx, ticket.eta_at))}))
    if ticket.status is TicketStatus.PAUSED and ticket.pause_reason:
        parts.append(L("card.paused", {"reason": L(f"pause.{ticket.pause_reason}")}))
    return Lines(tuple(parts))


def engineer_card(ctx: Ctx, ticket: Ticket, *, edit_message_id: str | None = None) -> Msg:
    return Msg(body=ticket_summary(ctx, ticket), buttons=engineer_buttons(ticket), edit_message_id=edit_message_id)


def dispatch_card(ctx: Ctx, ticket: Ticket) -> Msg:
    """What an engineer gets when a ticket is dispatched to them: the job and Accept / Decline."""
    body = Lines((L("card.new_dispatch"), ticket_summary(ctx, ticket)))
    return Msg(body=body, buttons=[[("btn.accept", f"acc:{ticket.id}"), ("btn.decline", f"dec:{ticket.id}")]])


# -- check-ins -----------------------------------------------------------------------------------
async def record_checkin(ctx: Ctx, ticket: Ticket, kind: CheckinKind, *, text: str | None,
                         photos: list[dict], location: tuple[float, float] | None,
                         client_at: datetime | None) -> Checkin:
    """Store a check-in with its photos, open its acknowledgement (due per ``[chase]``), and send
    it to the supervisor with an **Acknowledge** button.

    ``photos`` are ``{"file_ref", "path", "sha256", "size", "mime"}`` dicts collected by the flow.
    """
    engineer = ctx.person
    checkin = Checkin(ticket_id=ticket.id, engineer_id=engineer.id, kind=kind, text=text or None,
                      lat=location[0] if location else None, lon=location[1] if location else None,
                      client_at=client_at, server_at=ctx.now)
    ctx.session.add(checkin)
    await ctx.session.flush()
    for photo in photos:
        ctx.session.add(Attachment(ticket_id=ticket.id, checkin_id=checkin.id, channel=ctx.inbound.channel,
                                   file_ref=photo["file_ref"], path=photo.get("path"), sha256=photo.get("sha256"),
                                   size=photo.get("size"), mime=photo.get("mime"), created_at=ctx.now))
    if location:
        engineer.last_lat, engineer.last_lon, engineer.last_located_at = location[0], location[1], ctx.now
        if kind is CheckinKind.ARRIVAL and ticket.site_id is not None:
            # Registration rarely knows coordinates; the first arrival on site does.  Dispatch
            # suggestions rank engineers by distance to it from then on.
            site = await ctx.session.get(Site, ticket.site_id)
            if site is not None and site.lat is None:
                site.lat, site.lon = location
    late = client_at is not None and (ctx.now - client_at).total_seconds() > LATE_AFTER_SECONDS
    details = {"checkin_id": checkin.id, "photos": len(photos)}
    if late:
        details["client_at"] = client_at.isoformat()
    record_event(ctx.session, ticket, f"checkin_{kind.value}", now=ctx.now, actor_id=engineer.id, **details)
    supervisor_id = await supervisor_of(ctx, ticket)
    if supervisor_id is not None:
        chase = ctx.app.config.chase
        ctx.session.add(Acknowledgement(checkin_id=checkin.id, supervisor_id=supervisor_id,
                                        due_at=ctx.now + chase.ack_reminder,
                                        next_reminder_at=ctx.now + chase.ack_reminder, created_at=ctx.now))
        await ctx.notify(supervisor_id, checkin_message(ctx, ticket, checkin, engineer.name, photos),
                         purpose="checkin", ticket_id=ticket.id, ref=f"checkin:{checkin.id}",
                         dedupe=f"checkin:{checkin.id}:supervisor")
    return checkin


def checkin_message(ctx: Ctx, ticket: Ticket, checkin: Checkin, engineer: str, photos: list[dict],
                    *, acked: tuple[str, str] | None = None, edit_message_id: str | None = None) -> Msg:
    """The supervisor's view of a check-in; after acknowledgement (``acked`` = (name, time)) the
    button is replaced by who acknowledged and when."""
    when = Raw(hhmm(ctx, checkin.server_at))
    if checkin.client_at and (checkin.server_at - checkin.client_at).total_seconds() > LATE_AFTER_SECONDS:
        when = L("card.late_times", {"client": Raw(local(ctx, checkin.client_at)),
                                     "server": Raw(local(ctx, checkin.server_at))})
    parts = [L(f"card.checkin_{checkin.kind.value}", {"engineer": Raw(engineer), "time": when}), title(ticket)]
    if checkin.text:
        parts.append(Raw(checkin.text))
    if checkin.lat is not None:
        parts.append(L("card.location", {"lat": Raw(f"{checkin.lat:.5f}"), "lon": Raw(f"{checkin.lon:.5f}")}))
    if photos:
        parts.append(L("card.photos", {"count": len(photos)}))
    if acked:
        parts.append(L("card.acked", {"name": Raw(acked[0]), "time": Raw(acked[1])}))
    media = [] if edit_message_id else [
        {"file_ref": p["file_ref"], "channel": ctx.inbound.channel.value, "path": p.get("path")} for p in photos
    ]
    buttons = [] if acked else [[("btn.ack", f"ack:{checkin.id}")]]
    return Msg(body=Lines(tuple(parts)), buttons=buttons, photos=media, edit_message_id=edit_message_id)


def photo_record(ctx: Ctx) -> list[dict]:
    """The photos of the current update as stored (for a flow to keep in its dialog data)."""
    out = []
    for photo in ctx.inbound.photos:
        stored = ctx.media.get(photo.file_ref)
        out.append({"file_ref": photo.file_ref, "path": stored.path if stored else None,
                    "sha256": stored.sha256 if stored else None, "size": stored.size if stored else photo.size,
                    "mime": stored.mime if stored else None})
    return out


def signoff_request(ctx: Ctx, ticket: Ticket) -> Msg:
    """The customer's sign-off request: the service report summary and **Confirm**."""
    body = Lines((
        L("signoff.request_intro", {"number": Raw(ticket.number)}),
        L("signoff.summary_fault", {"text": Raw(ticket.fault_symptom)}),
        L("signoff.summary_findings", {"text": Raw(ticket.findings or "")}),
        L("signoff.summary_actions", {"text": Raw(ticket.actions_taken or "")}),
        L("signoff.summary_parts", {"text": Raw(ticket.parts_replaced or "-")}),
        L("signoff.summary_result", {"text": Raw(ticket.result)}) if ticket.result else None,
        L("signoff.request_ask"),
    ))
    return Msg(body=body, buttons=[[("btn.confirm", f"cfm:{ticket.id}")]])


def rating_buttons(ticket: Ticket) -> list[list[tuple[str, str]]]:
    return [[(f"btn.rate{n}", f"rate:{ticket.id}:{n}") for n in range(1, 6)]]
