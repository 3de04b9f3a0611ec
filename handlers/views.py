"""Channel-neutral renderings of tickets: the field list, the SLA clocks and the JSON view (the
timeline is :mod:`handlers.timeline`).

Shared by the CLI (``fieldbot ticket show``) and the chat ``/ticket`` command, so both show the
same facts in the reader's language and the team's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from handlers.fault_types import fault_text
from handlers.i18n import t
from handlers.times import date_time, zone_long
from models.calendar import TwentyFourSeven
from models.lifecycle import FINAL_STATES
from models.sla import CLOCKS
from models.tickets import Ticket, TicketEvent

if TYPE_CHECKING:
    from models.clocks import SlaPolicy

_MINUTE = timedelta(minutes=1)
#: ``Ticket.{clock}_level`` values (see :mod:`models.clocks`) as words, for JSON and the text view.
LEVELS = ("none", "warned", "breached", "escalated")


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """``2026-11-22 09:30`` in the team's zone (:func:`handlers.times.date_time`); the zone is
    named once per view (the ``time zone`` row of :func:`ticket_fields`)."""
    return date_time(moment, tz)


def _yes_no(lang: str, value: bool | None) -> str:
    if value is None:
        return t(lang, "cli.unknown")
    return t(lang, "cli.yes" if value else "cli.no")


def ticket_fields(lang: str, ticket: Ticket, tz: ZoneInfo, names: dict[int, str], *,
                  now: datetime | None = None, policy: SlaPolicy | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs for every registration field and the current state.

    Every SLA clock the ticket runs is listed with its due time; met clocks say how early or late,
    and with ``now`` and ``policy`` (the app's :class:`~models.clocks.SlaPolicy`) open clocks say
    how much time is left or how far overdue they are.  Without them, only the due time.
    """
    rows: list[tuple[str, Any]] = [
        (t(lang, "view.number"), ticket.number),
        (t(lang, "field.status"), t(lang, f"status.{ticket.status.value}")),
        (t(lang, "view.registered"), local_time(ticket.created_at, tz)),
        (t(lang, "time.zone_row"), zone_long(lang, tz, now or ticket.created_at)),
        (t(lang, "field.customer"), ticket.customer.name),
        (t(lang, "field.contact"), ticket.contact_name or t(lang, "view.no_contact")),
        (t(lang, "field.phone"), ticket.contact_phone),
        (t(lang, "field.address"), ticket.address),
        (t(lang, "field.model"), ticket.product_model),
        (t(lang, "field.serial"), ticket.serial or t(lang, "reg.summary.no_serial")),
        (t(lang, "field.purchased"), ticket.purchase_date.isoformat() if ticket.purchase_date else ""),
        (t(lang, "view.warranty"), _yes_no(lang, ticket.in_warranty)),
        (t(lang, "field.fault"), ticket.fault_symptom),
        (t(lang, "field.fault_type"), fault_text(lang, ticket.fault_type)),
        (t(lang, "field.severity"), t(lang, f"severity.{ticket.severity}")),
        (t(lang, "field.service"), t(lang, f"service.{ticket.service_type.value}")),
        (t(lang, "field.billable"), _yes_no(lang, ticket.billable)),
        (t(lang, "view.assignee"), names.get(ticket.assignee_id, "") if ticket.assignee_id else ""),
        *clock_rows(lang, ticket, tz, now=now, policy=policy),
    ]
    if ticket.fault_cause:  # confirmed at resolve
        rows.append((t(lang, "field.fault_cause"), fault_text(lang, ticket.fault_cause)))
    for key in ("findings", "actions_taken", "parts_replaced", "result", "cancel_reason"):
        value = getattr(ticket, key)
        if value:
            rows.append((t(lang, f"view.{key}"), value))
    return [(label, str(value)) for label, value in rows]


def ticket_json(ticket: Ticket, tz: ZoneInfo, names: dict[int, str], events: Iterable[TicketEvent], *,
                now: datetime | None = None, policy: SlaPolicy | None = None) -> dict:
    """Machine-readable view; times in ISO 8601 with the team's UTC offset.

    ``sla`` holds every clock the ticket runs: due, met, ``diff_min`` (minutes met early, negative
    late), ``remaining_min`` (left, negative overdue; working minutes for business clocks; only for
    open clocks and only given ``now`` and ``policy``) and the chase ``level``.
    """
    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat() if moment else None

    return {
        "number": ticket.number,
        "status": ticket.status.value,
        "customer": ticket.customer.name,
        "contact": ticket.contact_name,
        "phone": ticket.contact_phone,
        "address": ticket.address,
        "model": ticket.product_model,
        "serial": ticket.serial,
        "purchased": ticket.purchase_date.isoformat() if ticket.purchase_date else None,
        "in_warranty": ticket.in_warranty,
        "fault": ticket.fault_symptom,
        "fault_type": ticket.fault_type,
        "fault_cause": ticket.fault_cause,
        "severity": ticket.severity,
        "service": ticket.service_type.value,
        "billable": ticket.billable,
        "assignee": names.get(ticket.assignee_id) if ticket.assignee_id else None,
        "created_at": iso(ticket.created_at),
        "sla": {
            clock: {"due": iso(getattr(ticket, f"{clock}_due_at")), "met": iso(getattr(ticket, f"{clock}_met_at")),
                    "diff_min": getattr(ticket, f"{clock}_diff_min"),
                    "remaining_min": clock_remaining_minutes(ticket, clock, now, policy),
                    "level": LEVELS[getattr(ticket, f"{clock}_level") or 0]}
            for clock in ticket_clocks(ticket)
        },
        "timeline": [
            {"at": iso(e.at), "actor": names.get(e.actor_id) if e.actor_id else None, "kind": e.kind,
             "action": e.action.value if e.action else None,
             "from": e.from_status.value if e.from_status else None,
             "to": e.to_status.value if e.to_status else None, "details": e.details}
            for e in events
        ],
    }


# -- SLA clocks -------------------------------------------------------------------------------
def ticket_clocks(ticket: Ticket) -> list[str]:
    """The clocks the ticket runs (those given a due time at registration)."""
    return [clock for clock in CLOCKS if getattr(ticket, f"{clock}_due_at") is not None]


def clock_remaining_minutes(ticket: Ticket, clock: str, now: datetime | None,
                            policy: SlaPolicy | None) -> int | None:
    """Minutes left on an open clock (negative: overdue), counted on the clock's own calendar.

    Rounded down, so a clock overdue by a few seconds already shows as overdue (-1), the same
    rule as the met difference.  While paused the clock stands still: counted up to the pause.
    None when the clock is met, the ticket is closed or cancelled, or ``now``/``policy`` are missing.
    """
    if now is None or policy is None or getattr(ticket, f"{clock}_due_at") is None:
        return None
    if getattr(ticket, f"{clock}_met_at") is not None or ticket.status in FINAL_STATES:
        return None
    at = min(now, ticket.paused_at) if ticket.paused_at is not None else now
    left = policy.remaining(ticket, clock, at)
    return None if left is None else left // _MINUTE


def span_text(lang: str, minutes: int) -> str:
    hours, rest = divmod(abs(minutes), 60)
    if not hours:
        return t(lang, "sla.show.minutes", minutes=rest)
    if not rest:
        return t(lang, "sla.show.hours", hours=hours)
    return t(lang, "sla.show.hours_minutes", hours=hours, minutes=rest)


def clock_value(lang: str, ticket: Ticket, clock: str, tz: ZoneInfo, *, now: datetime | None = None,
                policy: SlaPolicy | None = None) -> str:
    """One clock as text: due; met (early / late / on time); time left or overdue; the chase level."""
    due = local_time(getattr(ticket, f"{clock}_due_at"), tz)
    met = getattr(ticket, f"{clock}_met_at")
    if met is not None:
        diff = getattr(ticket, f"{clock}_diff_min") or 0
        key = "sla.show.met_early" if diff > 0 else "sla.show.met_late" if diff < 0 else "sla.show.met_on_time"
        return t(lang, key, due=due, met=local_time(met, tz), span=span_text(lang, diff))
    if ticket.status in FINAL_STATES:
        return t(lang, "sla.show.not_met", due=due)
    left = clock_remaining_minutes(ticket, clock, now, policy)
    if left is None:
        text = t(lang, "sla.show.due", due=due)
    else:
        working = "" if isinstance(policy.calendar(ticket), TwentyFourSeven) else "_working"
        key = f"sla.show.left{working}" if left >= 0 else f"sla.show.overdue{working}"
        text = t(lang, key, due=due, span=span_text(lang, left))
    level = getattr(ticket, f"{clock}_level") or 0
    if level:
        text += t(lang, "sla.show.sep") + t(lang, f"sla.level.{LEVELS[level]}")
    if ticket.paused_at is not None:
        text += t(lang, "sla.show.sep") + t(lang, "sla.show.paused")
    return text


def clock_rows(lang: str, ticket: Ticket, tz: ZoneInfo, *, now: datetime | None = None,
               policy: SlaPolicy | None = None) -> list[tuple[str, str]]:
    """(label, value) per clock the ticket runs, for :func:`ticket_fields`."""
    return [(t(lang, f"sla.show.label.{clock}"), clock_value(lang, ticket, clock, tz, now=now, policy=policy))
            for clock in ticket_clocks(ticket)]
