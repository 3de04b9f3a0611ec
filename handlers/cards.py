"""The cards people get about a ticket, as data (:class:`Msg`, :class:`L`): pure functions of the
ticket and the team's time zone (plus what the card is about), never of a handler context — so a
flow answering a button and a scheduler job reminding somebody render the same card.

Each card carries only the buttons that work in the ticket's state (:func:`engineer_buttons` asks
the lifecycle); a button's data is only a pointer (``code:ticket_id``), re-checked when pressed.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from handlers.evidence_text import evidence_lines
from handlers.messages import L, Lines, Msg, Raw
from handlers.times import When
from handlers.views import local_time
from models.checkins import is_late
from models.enums import Action, Channel, TicketStatus
from models.lifecycle import allowed_actions, work_under_way
from models.tickets import Ticket
from models.work import Checkin

Buttons = list[list[tuple[Any, str]]]

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


def title(ticket: Ticket) -> Raw:
    return Raw(f"{ticket.number} · {ticket.product_model} · {ticket.address}")


def can_check_in(ticket: Ticket) -> bool:
    """Progress check-ins (and parts requests) are for work under way."""
    return work_under_way(ticket.status, ticket.service_type)


def engineer_buttons(ticket: Ticket) -> Buttons:
    """Only the buttons valid in the ticket's state, two per row.  While the work is under way
    the card also offers **Check in** and **Parts** (a parts request, :mod:`handlers.flows.parts`)."""
    allowed = set(allowed_actions(ticket.status, ticket.service_type))
    flat = [(label, f"{code}:{ticket.id}") for action, label, code in _ENGINEER_BUTTONS if action in allowed]
    if can_check_in(ticket):
        flat[:0] = [("btn.checkin", f"chk:{ticket.id}"), ("parts.btn.parts", f"prt:{ticket.id}")]
    return [flat[i:i + 2] for i in range(0, len(flat), 2)]


def ticket_summary(ticket: Ticket, tz: tzinfo) -> Lines:
    parts = [
        title(ticket),
        L("card.status", {"status": L(f"status.{ticket.status.value}")}),
        L("card.severity", {"severity": L(f"severity.{ticket.severity}")}),
        L("card.service", {"service": L(f"service.{ticket.service_type.value}")}),
        L("card.contact", {"name": Raw(ticket.contact_name), "phone": Raw(ticket.contact_phone)}) if ticket.contact_name
        else L("card.contact_unnamed", {"phone": Raw(ticket.contact_phone)}),
        L("card.fault", {"fault": Raw(ticket.fault_symptom)}),
    ]
    if ticket.eta_at and ticket.status is TicketStatus.EN_ROUTE:
        parts.append(L("card.eta", {"time": When(ticket.eta_at, tz)}))
    if ticket.status is TicketStatus.PAUSED and ticket.pause_reason:
        parts.append(L("card.paused", {"reason": L(f"pause.{ticket.pause_reason}")}))
    return Lines(tuple(parts))


def engineer_card(ticket: Ticket, tz: tzinfo, *head: L | Raw | None, edit_message_id: str | None = None) -> Msg:
    """The engineer's card, with headline(s) above it if given: one message saying what happened
    and what can be done next."""
    body = Lines((*head, ticket_summary(ticket, tz))) if head else ticket_summary(ticket, tz)
    return Msg(body=body, buttons=engineer_buttons(ticket), edit_message_id=edit_message_id)


def dispatch_card(ticket: Ticket, tz: tzinfo, head: L | None = None) -> Msg:
    """What an engineer gets when a ticket is dispatched to them (or is reminded of it): the job
    and **Accept** / **Decline**."""
    body = Lines((head or L("card.new_dispatch"), ticket_summary(ticket, tz)))
    return Msg(body=body, buttons=[[("btn.accept", f"acc:{ticket.id}"), ("btn.decline", f"dec:{ticket.id}")]])


def not_told(reached: bool) -> L | None:
    """The line saying the customer could not be told (nobody joined through the link)."""
    return None if reached else L("eng.customer_not_told")


def checkin_message(ticket: Ticket, checkin: Checkin, engineer: str, photos: list[dict], tz: tzinfo,
                    channel: Channel, *, acked: tuple[str, When] | None = None,
                    edit_message_id: str | None = None, findings: dict | None = None) -> Msg:
    """The supervisor's view of a check-in (its photos sent on ``channel``); after acknowledgement
    (``acked`` = (name, time)) the button is replaced by who acknowledged and when.  Under the
    place, the evidence flags (:func:`handlers.evidence_text.evidence_lines`; ``findings``: what
    the photos' EXIF says)."""
    when = When(checkin.server_at, tz)
    if is_late(checkin.client_at, checkin.server_at):
        when = L("card.late_times", {"client": Raw(local_time(checkin.client_at, tz)),
                                     "server": Raw(local_time(checkin.server_at, tz))})
    parts = [L(f"card.checkin_{checkin.kind.value}", {"engineer": Raw(engineer), "time": when}), title(ticket)]
    if checkin.text:
        parts.append(Raw(checkin.text))
    if checkin.lat is not None:
        parts.append(L("card.location", {"lat": Raw(f"{checkin.lat:.5f}"), "lon": Raw(f"{checkin.lon:.5f}")}))
    parts.extend(evidence_lines(checkin, findings or {}, tz))
    if photos:
        parts.append(L("card.photos", {"count": len(photos)}))
    if acked:
        parts.append(L("card.acked", {"name": Raw(acked[0]), "time": acked[1]}))
    media = [] if edit_message_id else [
        {"file_ref": p["file_ref"], "channel": channel.value, "path": p.get("path")} for p in photos
    ]
    buttons = [] if acked else [[("btn.ack", f"ack:{checkin.id}")]]
    return Msg(body=Lines(tuple(parts)), buttons=buttons, photos=media, edit_message_id=edit_message_id)


def signoff_request(ticket: Ticket) -> Msg:
    """The customer's sign-off request: the service report summary, **Confirm** and **Not fixed**
    (the customer disputes it: the ticket is reopened, :mod:`handlers.flows.customer`)."""
    body = Lines((
        L("signoff.request_intro", {"number": Raw(ticket.number)}),
        L("signoff.summary_fault", {"text": Raw(ticket.fault_symptom)}),
        L("signoff.summary_findings", {"text": Raw(ticket.findings or "")}),
        L("signoff.summary_actions", {"text": Raw(ticket.actions_taken or "")}),
        L("signoff.summary_parts", {"text": Raw(ticket.parts_replaced or "-")}),
        L("signoff.summary_result", {"text": Raw(ticket.result)}) if ticket.result else None,
        L("signoff.request_ask"),
    ))
    return Msg(body=body, buttons=[[("btn.confirm", f"cfm:{ticket.id}"), ("amend.btn.not_fixed", f"nfx:{ticket.id}")]])


def rating_buttons(ticket: Ticket, code: str = "rate") -> Buttons:
    """**1** … **5**, each ``code:TICKET:N`` (the sign-off rating, the callback survey, a rating
    given on the phone)."""
    return [[(f"btn.rate{n}", f"{code}:{ticket.id}:{n}") for n in range(1, 6)]]
