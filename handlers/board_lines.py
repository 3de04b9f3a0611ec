"""How one entry of ``/tickets``, ``/board`` or ``/pending`` reads: a ticket with each running SLA
clock's due time (in the team's time zone) and the time left or overdue, a complaint, a check-in
waiting for acknowledgement — and the button that goes with it.

Everything is an :class:`L` / :class:`Raw` so it renders in the reader's language.  The time left
is the same working-time figure ``/ticket`` shows (:func:`handlers.views.clock_remaining_minutes`);
the board keeps it short (no calendar word, no chase level) because it is one line per clock.
"""

from __future__ import annotations

from datetime import datetime

from handlers.context import Ctx
from handlers.messages import L, Lines, Raw
from handlers.times import When
from handlers.views import clock_remaining_minutes, ticket_clocks
from models.tickets import Ticket
from models.work import Checkin, Complaint

#: A complaint's or check-in's text is cut to this many characters on a list line.
SNIPPET = 60
#: Addresses, models and names are cut to this many, so a full page stays well inside one chat
#: message (Telegram: 4096 characters) whatever was registered.
FIELD = 40
OVERDUE_MARK = "⚠️ "


def span(minutes: int) -> L:
    """``95`` → "1 h 35 min" (the ``sla.show`` units, so ``/ticket`` and the board agree)."""
    hours, rest = divmod(abs(minutes), 60)
    if not hours:
        return L("sla.show.minutes", {"minutes": rest})
    if not rest:
        return L("sla.show.hours", {"hours": hours})
    return L("sla.show.hours_minutes", {"hours": hours, "minutes": rest})


def short_time(ctx: Ctx, moment: datetime) -> When:
    """Local HH:MM for today, with the day for another (:func:`handlers.times.clock`)."""
    return When(moment, ctx.app.tz)


def snippet(text: str | None, limit: int = SNIPPET) -> Raw:
    """``text`` on one line, cut to ``limit`` characters (an ellipsis says it was cut)."""
    flat = " ".join((text or "").split())
    return Raw(flat if len(flat) <= limit else flat[:limit - 1] + "…")


def running_clocks(ctx: Ctx, ticket: Ticket) -> list[tuple[str, int]]:
    """(clock, minutes left — negative when overdue) for every clock still running."""
    out = []
    for clock in ticket_clocks(ticket):
        left = clock_remaining_minutes(ticket, clock, ctx.now, ctx.app.sla)
        if left is not None:
            out.append((clock, left))
    return out


def clock_line(ctx: Ctx, ticket: Ticket, clocks: list[tuple[str, int]]) -> L | None:
    parts = []
    for clock, left in clocks:
        key = "board.clock.left" if left >= 0 else "board.clock.overdue"
        parts.append(L(key, {"clock": L(f"sla.show.label.{clock}"),
                             "due": short_time(ctx, getattr(ticket, f"{clock}_due_at")), "span": span(left)}))
    if not parts:
        return None
    key = "board.clocks_paused" if ticket.paused_at is not None else "board.clocks"
    return L(key, {"clocks": _Joined(tuple(parts))})


class _Joined(Lines):
    """Pieces on one line, separated like ``/ticket`` separates a clock's facts."""

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return L("sla.show.sep").render(lang).join(p.render(lang, seen) for p in self.parts)


def status_of(ticket: Ticket) -> L:
    if ticket.pause_reason and ticket.paused_at is not None:
        return L("board.status_paused", {"reason": L(f"pause.{ticket.pause_reason}")})
    return L(f"status.{ticket.status.value}")


def ticket_entry(ctx: Ctx, ticket: Ticket, who: Raw | L) -> Lines:
    """An open ticket's lines on a view (``who``: the engineer for the desk, the address for the
    engineer), marked when a clock is overdue by the same working-time figure it shows."""
    clocks = running_clocks(ctx, ticket)
    late = any(left < 0 for _, left in clocks)
    head = L("board.ticket", {"mark": Raw(OVERDUE_MARK if late else ""), "number": Raw(ticket.number),
                              "status": status_of(ticket), "model": snippet(ticket.product_model, FIELD), "who": who})
    return Lines((head, clock_line(ctx, ticket, clocks)))


def closed_entry(ctx: Ctx, ticket: Ticket, who: Raw | L) -> Lines:
    when = ticket.closed_at or ticket.cancelled_at
    return Lines((L("board.closed", {"number": Raw(ticket.number), "status": L(f"status.{ticket.status.value}"),
                                     "when": short_time(ctx, when) if when else Raw(""),
                                     "model": snippet(ticket.product_model, FIELD), "who": who}),))


def complaint_entry(ctx: Ctx, complaint: Complaint, number: str, engineer: str) -> L:
    return L("board.complaint", {"number": Raw(number), "when": short_time(ctx, complaint.created_at),
                                 "engineer": snippet(engineer, FIELD) if engineer else L("sla.nobody"),
                                 "text": snippet(complaint.text)})


def pending_entry(ctx: Ctx, index: int, checkin: Checkin, number: str, engineer: str) -> Lines:
    head = L("board.pending.item", {"n": index, "engineer": snippet(engineer, FIELD),
                                    "kind": L(f"desk.ack.kind_{checkin.kind.value}"), "number": Raw(number),
                                    "time": short_time(ctx, checkin.server_at)})
    text = L("board.pending.text", {"text": snippet(checkin.text)}) if checkin.text else None
    return Lines((head, text))
