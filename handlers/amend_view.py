"""What cancelling, reopening and correcting a ticket show, as data and text (no handler context,
so the ticket page, the timeline and the CLI import it without the flows): who may do which, the
ticket page's buttons for them, and a correction of a ticket's registration (:mod:`models.corrections`)
as text — the timeline's line for an ``edited`` event and the same line in the messages about it,
"address: 1 Harbour Rd → 2 River Rd", and for a severity the clocks' new due times, in the
reader's language and the team's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from handlers.i18n import preview, t
from handlers.times import date_time
from models.enums import Action, Role
from models.lifecycle import allowed_actions
from models.tickets import Ticket

#: Who may cancel or reopen a ticket; who may correct it.
CANCELLERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.MANAGER})
EDITORS = frozenset({Role.SUPERVISOR, Role.DISPATCHER})

#: A corrected value is shown whole up to this length (an address may be long).
VALUE_LIMIT = 100


def page_buttons(role: Role | None, ticket: Ticket) -> list[list[tuple[Any, str]]]:
    """The ticket page's **Edit** / **Cancel ticket** / **Reopen**, as far as the person's role and
    the ticket's state allow them."""
    allowed = allowed_actions(ticket.status, ticket.service_type)
    row = []
    if role in EDITORS and Action.CANCEL in allowed:  # open: the registration may still be corrected
        row.append(("amend.btn.edit", f"tke:{ticket.id}"))
    if role in CANCELLERS and Action.CANCEL in allowed:
        row.append(("amend.btn.cancel", f"tcn:{ticket.id}"))
    if role in CANCELLERS and Action.REOPEN in allowed:
        row.append(("amend.btn.reopen", f"tro:{ticket.id}"))
    return [row] if row else []


def value_text(lang: str, field: str, value: Any) -> str:
    """One side of a change as people read it."""
    if value is None or value == "":
        return t(lang, "cli.unknown") if field == "purchased" else "—"
    if field == "severity":
        return t(lang, f"severity.{value}")
    if isinstance(value, date):
        value = value.isoformat()
    return preview(value, VALUE_LIMIT)


def due_text(lang: str, due: dict[str, Any], tz: tzinfo) -> str:
    """"new due times: response 2026-03-02 11:30, arrival …" (times as ISO strings or datetimes)."""
    parts = []
    for clock, moment in due.items():
        when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        parts.append(t(lang, "amend.edit.due_clock", clock=t(lang, f"sla.clock.{clock}"),
                       time=date_time(when, tz)))
    return t(lang, "amend.edit.due", due=t(lang, "amend.edit.clock_sep").join(parts))


def edited_text(lang: str, details: dict[str, Any], tz: tzinfo | None, *, timeline: bool = True,
                who: str = "") -> str:
    """The text of an ``edited`` event (its details: field, old, new, due): on the timeline
    "Wang Wei corrected address: … → …" (``who`` did it), in a message just "address: … → …"."""
    field = str(details.get("field"))
    text = t(lang, "amend.edit.change", field=t(lang, f"field.{field}"),
             old=value_text(lang, field, details.get("old")), new=value_text(lang, field, details.get("new")))
    if timeline:
        text = t(lang, "amend.edit.event", who=who, change=text)
    due = details.get("due")
    if isinstance(due, dict) and due and tz is not None:
        text += t(lang, "amend.edit.due_sep") + due_text(lang, due, tz)
    return text


@dataclass(frozen=True)
class ChangeText:
    """:func:`edited_text` rendered per recipient (a part of a message's :class:`~handlers.messages.Lines`)."""

    field: str
    old: Any
    new: Any
    due: dict[str, datetime] | None
    tz: tzinfo

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return edited_text(lang, {"field": self.field, "old": self.old, "new": self.new, "due": self.due}, self.tz,
                           timeline=False)
