"""The ticket's timeline as people read it: a sentence a line — who did what ("Li Lei accepted
the ticket", "李雷接单"), or what happened when nobody did it ("The response time limit … is
close: the supervisor was warned") — in the reader's language, times in the team's zone.

No line shows a raw id or an enum value: a push's purpose, a check-in's database number, an
action → status arrow.  A check-in is named by its kind and time ("the arrival check-in of 10:05",
"到场签到（10:05）"), a push the customer missed by what it would have told them.  Shared by
``/ticket`` (:mod:`handlers.ticket_page`), ``fieldbot ticket show`` and the demo.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.amend_view import edited_text
from handlers.evidence_text import timeline_notes
from handlers.i18n import catalog, normalise_language, t
from handlers.times import clock as clock_time
from handlers.times import date_time as local_time
from models.enums import Action
from models.tickets import TicketEvent

#: Events whose details name a check-in (``checkin_id``): the line says which one, by kind and time.
_NAMES_CHECKIN = frozenset({"checkin_acked", "checkin_reply", "chase_ack_unreached", "chase_ack_escalated",
                            "chase_ack_not_escalated"})


def checkins_of(events: Iterable[TicketEvent]) -> dict[int, tuple[str, datetime]]:
    """check-in id → (kind, when) from the check-in events (``checkin_arrival``/``checkin_progress``),
    so a later line can say "the arrival check-in of 10:05" rather than a database id."""
    return {e.details["checkin_id"]: (e.kind.removeprefix("checkin_"), e.at) for e in events
            if e.kind in ("checkin_arrival", "checkin_progress") and (e.details or {}).get("checkin_id")}


def _checkin_text(lang: str, event: TicketEvent, checkins: dict[int, tuple[str, datetime]],
                  tz: ZoneInfo | None) -> str:
    known = checkins.get((event.details or {}).get("checkin_id"))
    if known is None or tz is None:
        return t(lang, "event.checkin.unknown")
    kind, at = known
    return t(lang, f"event.checkin.{kind}", time=clock_time(lang, at, tz, event.at))


def _told_text(lang: str, purpose: object) -> str:
    """What the customer was not told (``customer_not_reached``), by the push's purpose."""
    key = f"event.told.{purpose}"
    return t(lang, key if key in catalog(normalise_language(lang)) else "event.told.other")


def _transition_text(lang: str, event: TicketEvent, who: str, names: dict[int, str]) -> str:
    d = event.details or {}
    action = event.action.value
    key = "sign_off_paper" if event.action is Action.SIGN_OFF and d.get("signer") else action
    if f"event.did.{key}" not in catalog(normalise_language(lang)):
        key = "other"
    assignee = names.get(d.get("assignee_id"), "") if d.get("assignee_id") else ""
    text = t(lang, f"event.did.{key}", who=who, assignee=assignee, signer=d.get("signer", ""),
             pause=t(lang, f"pause.{d['pause_reason']}") if d.get("pause_reason") else "",
             action=t(lang, f"action.{action}"), to=t(lang, f"status.{event.to_status.value}"))
    if event.action is Action.REASSIGN and names.get(d.get("from_assignee_id")):
        # Who had it matters on a reassignment: the reason is about them.
        text += t(lang, "assign.event.from", name=names[d["from_assignee_id"]])
    if d.get("dispute"):
        text += t(lang, "amend.dispute.event")
    if d.get("reason"):
        text = t(lang, "event.with_reason", text=text, reason=d["reason"])
    return text


def event_text(lang: str, event: TicketEvent, names: dict[int, str], tz: ZoneInfo | None = None, *,
               checkins: dict[int, tuple[str, datetime]] | None = None) -> str:
    """One timeline entry as a sentence, without its time: who did what ("Li Lei accepted the
    ticket", "李雷接单"), or what happened when nobody did it (a reminder, an SLA warning).  Times
    in ``tz`` if given; ``checkins`` (:func:`checkins_of`) lets a line name a check-in by its kind
    and time."""
    d = event.details or {}
    who = names.get(event.actor_id, "") if event.actor_id else t(lang, "view.system")
    if event.kind in ("sla_warned", "sla_breached", "sla_escalated"):
        return _sla_event_text(lang, event.kind, d, tz)
    if event.kind == "edited":
        return edited_text(lang, d, tz, who=who)
    if event.kind == "transition" and event.action is not None:
        return _transition_text(lang, event, who, names)
    params: dict[str, Any] = {k: v for k, v in d.items() if isinstance(v, (str, int, float))}
    params["who"] = who
    if isinstance(d.get("names"), list):
        params["names"] = t(lang, "list.sep").join(str(n) for n in d["names"])
    if "photos" in d:  # "with 2 photos": the count picks the plural form
        params["count"] = d["photos"]
    if event.kind in _NAMES_CHECKIN:
        params["checkin"] = _checkin_text(lang, event, checkins or {}, tz)
    if event.kind == "customer_not_reached":
        params["what"] = _told_text(lang, d.get("what"))
    if event.kind in ("checkin_arrival", "checkin_progress"):  # where it was, late, what the photos say
        return t(lang, f"event.{event.kind}", **params) + timeline_notes(lang, d, tz)
    return t(lang, f"event.{event.kind}", **params)


def timeline_lines(lang: str, events: Iterable[TicketEvent], tz: ZoneInfo, names: dict[int, str], *,
                   checkins: dict[int, tuple[str, datetime]] | None = None) -> list[str]:
    """The timeline, a sentence a line after its time.  ``checkins``: the ticket's check-ins
    (:func:`checkins_of` over all its events) when ``events`` is only the newest part of them."""
    events = list(events)
    checkins = checkins if checkins is not None else checkins_of(events)
    lines = []
    for event in events:
        when = local_time(event.at, tz)
        client_at = (event.details or {}).get("client_at")
        if client_at:
            when = t(lang, "cli.late", client=local_time(datetime.fromisoformat(client_at), tz), server=when)
        lines.append(t(lang, "event.line", when=when, text=event_text(lang, event, names, tz, checkins=checkins)))
    return lines


def _sla_event_text(lang: str, kind: str, details: dict[str, Any], tz: ZoneInfo | None) -> str:
    """``sla_warned`` / ``sla_breached`` / ``sla_escalated`` events written by the SLA chase."""
    due = details.get("due") or ""
    if due and tz is not None:
        due = local_time(datetime.fromisoformat(due), tz)
    text = t(lang, f"event.{kind}", clock=t(lang, f"sla.clock.{details.get('clock')}"), due=due,
             role=t(lang, f"role.{details.get('role')}"))
    if not details.get("sent", True):
        text = t(lang, "event.sla_unsent", text=text)
    return text
