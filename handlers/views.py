"""Channel-neutral renderings of tickets: the field list and the timeline.

Shared by the CLI (``fieldbot ticket show``) and the chat ``/ticket`` command, so both show the
same facts in the reader's language and the team's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import t
from models.tickets import Ticket, TicketEvent


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _yes_no(lang: str, value: bool | None) -> str:
    if value is None:
        return t(lang, "cli.unknown")
    return t(lang, "cli.yes" if value else "cli.no")


def ticket_fields(lang: str, ticket: Ticket, tz: ZoneInfo, names: dict[int, str]) -> list[tuple[str, str]]:
    """(label, value) pairs for every registration field and the current state."""
    rows: list[tuple[str, Any]] = [
        (t(lang, "view.number"), ticket.number),
        (t(lang, "field.status"), t(lang, f"status.{ticket.status.value}")),
        (t(lang, "view.registered"), local_time(ticket.created_at, tz)),
        (t(lang, "field.customer"), ticket.customer.name),
        (t(lang, "field.contact"), ticket.contact_name),
        (t(lang, "field.phone"), ticket.contact_phone),
        (t(lang, "field.address"), ticket.address),
        (t(lang, "field.model"), ticket.product_model),
        (t(lang, "field.serial"), ticket.serial or ""),
        (t(lang, "field.purchased"), ticket.purchase_date.isoformat() if ticket.purchase_date else ""),
        (t(lang, "view.warranty"), _yes_no(lang, ticket.in_warranty)),
        (t(lang, "field.fault"), ticket.fault_symptom),
        (t(lang, "field.fault_type"), ticket.fault_type or ""),
        (t(lang, "field.severity"), t(lang, f"severity.{ticket.severity}")),
        (t(lang, "field.service"), t(lang, f"service.{ticket.service_type.value}")),
        (t(lang, "field.billable"), _yes_no(lang, ticket.billable)),
        (t(lang, "view.assignee"), names.get(ticket.assignee_id, "") if ticket.assignee_id else ""),
    ]
    for key in ("findings", "actions_taken", "parts_replaced", "result", "cancel_reason"):
        value = getattr(ticket, key)
        if value:
            rows.append((t(lang, f"view.{key}"), value))
    return [(label, str(value)) for label, value in rows]


def event_text(lang: str, event: TicketEvent, names: dict[int, str]) -> str:
    """One timeline entry's description, without its time and actor."""
    d = event.details or {}
    if event.kind == "transition" and event.action is not None:
        text = t(lang, "event.transition", action=t(lang, f"action.{event.action.value}"),
                 to=t(lang, f"status.{event.to_status.value}"))
        if d.get("assignee_id"):
            text += " → " + names.get(d["assignee_id"], f"#{d['assignee_id']}")
        if d.get("pause_reason"):
            text += f" ({t(lang, 'pause.' + d['pause_reason'])})"
        if d.get("reason"):
            text += " — " + t(lang, "event.reason", reason=d["reason"])
        return text
    return t(lang, f"event.{event.kind}", **{k: v for k, v in d.items() if isinstance(v, (str, int, float))})


def timeline_lines(lang: str, events: Iterable[TicketEvent], tz: ZoneInfo, names: dict[int, str]) -> list[str]:
    lines = []
    for event in events:
        who = names.get(event.actor_id, "") if event.actor_id else t(lang, "view.system")
        when = local_time(event.at, tz)
        client_at = (event.details or {}).get("client_at")
        if client_at:
            when = t(lang, "cli.late", client=local_time(datetime.fromisoformat(client_at), tz), server=when)
        lines.append(f"{when}  {who}  {event_text(lang, event, names)}")
    return lines


def ticket_json(ticket: Ticket, tz: ZoneInfo, names: dict[int, str], events: Iterable[TicketEvent]) -> dict:
    """Machine-readable view; times in ISO 8601 with the team's UTC offset."""
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
        "severity": ticket.severity,
        "service": ticket.service_type.value,
        "billable": ticket.billable,
        "assignee": names.get(ticket.assignee_id) if ticket.assignee_id else None,
        "created_at": iso(ticket.created_at),
        "sla": {
            clock: {"due": iso(getattr(ticket, f"{clock}_due_at")), "met": iso(getattr(ticket, f"{clock}_met_at"))}
            for clock in ("respond", "arrive", "resolve")
        },
        "timeline": [
            {"at": iso(e.at), "actor": names.get(e.actor_id) if e.actor_id else None, "kind": e.kind,
             "action": e.action.value if e.action else None,
             "from": e.from_status.value if e.from_status else None,
             "to": e.to_status.value if e.to_status else None, "details": e.details}
            for e in events
        ],
    }
