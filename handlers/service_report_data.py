"""What the service report (技术支持现场服务单) says, gathered from the stored data as plain text in
one language — no layout here (:mod:`handlers.service_report_pdf` draws it).

The content is a pure function of the database rows (and the photo files they point at) up to
the ticket's close: no wall-clock time, no "now".  Its canonical form (:meth:`ReportContent.canonical`,
sorted-key JSON of every text and every photo's sha256) is what the report's digest covers — the
``content_sha256`` printed in the PDF's footer and stored on the ticket.  A PDF cannot carry the
sha256 of its own bytes, so the footer carries the digest of what it *says*; the file's own sha256
is stored beside it (``ServiceReport.pdf_sha256``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.fault_types import fault_text
from handlers.i18n import t
from handlers.service_report_content import ReportContent, ReportPhoto
from handlers.stamp import spec_for
from handlers.timeline import checkins_of, timeline_lines
from handlers.times import date_time
from handlers.views import clock_rows
from models.customers import Customer
from models.enums import Action, FeedbackSource, SignoffMethod
from models.people import Person, Team
from models.queries import people_names, timeline
from models.tickets import Ticket, TicketEvent
from models.work import Attachment, Checkin, Feedback, Signoff

if TYPE_CHECKING:
    from bot.app import App

#: Site photos shown as thumbnails (in the order taken, arrival first; later ones are left out).
PHOTO_LIMIT = 12


def report_photo(lang: str, caption: str, attachment: Attachment, checkin: Checkin | None, number: str,
                 tz: object) -> ReportPhoto:
    """A photo as the report shows it — the ONE place to choose: a check-in photo as its stamped
    copy in the report's language (ticket, server and phone times, place, distance to the site —
    the same drawing the supervisor got, made from the same stored data), any other photo (the
    signed paper form) as received.  The copy itself is made just before drawing
    (:func:`handlers.service_report.render`), outside any transaction."""
    spec = spec_for(attachment, checkin, number, tz=str(tz), lang=lang) if checkin is not None else None
    return ReportPhoto(caption=caption, sha256=attachment.sha256 or "", path=attachment.path, stamp=spec,
                       stamp_key=spec.key() if spec is not None else "")


def close_event(events: list[TicketEvent]) -> TicketEvent | None:
    """The last close: the report's data ends there (a callback or a complaint after it does not
    change the report)."""
    closes = [e for e in events if e.kind == "transition" and e.action is Action.CLOSE]
    return closes[-1] if closes else None


def _r(lang: str, key: str, **params: object) -> str:
    return t(lang, f"service_report.{key}", **params)


async def _company(session: AsyncSession, app: App, ticket: Ticket) -> str:
    configured = app.config.reports.company.strip()
    if configured:
        return configured
    team = await session.get(Team, ticket.team_id) if ticket.team_id else None
    return team.name if team else "Fieldbot"


def _yes_no(lang: str, value: bool | None) -> str:
    return t(lang, "cli.unknown") if value is None else t(lang, "cli.yes" if value else "cli.no")


def _job(lang: str, ticket: Ticket) -> list[tuple[str, str]]:
    return [
        (_r(lang, "label.model"), ticket.product_model),
        (_r(lang, "label.serial"), ticket.serial or t(lang, "reg.summary.no_serial")),
        (_r(lang, "label.purchased"), ticket.purchase_date.isoformat() if ticket.purchase_date else ""),
        (_r(lang, "label.warranty"), _yes_no(lang, ticket.in_warranty)),
        (_r(lang, "label.severity"), t(lang, f"severity.{ticket.severity}")),
        (_r(lang, "label.service"), t(lang, f"service.{ticket.service_type.value}")),
        (_r(lang, "label.fault"), ticket.fault_symptom),
        (_r(lang, "label.fault_type"), fault_text(lang, ticket.fault_cause or ticket.fault_type)),
    ]


def _work(lang: str, ticket: Ticket, engineer: str) -> list[tuple[str, str]]:
    return [
        (_r(lang, "label.engineer"), engineer),
        (_r(lang, "label.findings"), ticket.findings or ""),
        (_r(lang, "label.actions_taken"), ticket.actions_taken or ""),
        (_r(lang, "label.parts_replaced"), ticket.parts_replaced or _r(lang, "no_parts")),
        (_r(lang, "label.result"), ticket.result or _r(lang, "result_fixed")),
    ]


async def _signoff_rows(session: AsyncSession, lang: str, ticket: Ticket, signoff: Signoff | None,
                        events: list[TicketEvent], names: dict[int, str], tz: object) -> list[tuple[str, str]]:
    if signoff is None:
        return [(_r(lang, "confirmation"), _r(lang, "not_confirmed"))]
    when = date_time(signoff.at, tz)
    if signoff.method is SignoffMethod.PAPER:
        return [(_r(lang, "confirmation"), _r(lang, "paper")), (_r(lang, "signer"), signoff.signer_name or ""),
                (_r(lang, "collected_by"), names.get(signoff.collected_by_id, "")), (_r(lang, "confirmed_at"), when)]
    event = next((e for e in reversed(events) if e.action is Action.SIGN_OFF), None)
    channel = (event.details or {}).get("channel") if event is not None else None
    rows = [(_r(lang, "confirmation"), _r(lang, "in_chat")),
            (_r(lang, "confirmed_by"), names.get(signoff.confirmed_by_id, "")), (_r(lang, "confirmed_at"), when)]
    if channel:
        rows.append((_r(lang, "channel"), _r(lang, f"channel_{channel}")))
    closed_at = events[-1].at  # the close (events end there)
    feedback = await session.scalar(select(Feedback).where(  # this sign-off's rating (one per sign-off)
        Feedback.ticket_id == ticket.id, Feedback.source == FeedbackSource.SIGNOFF, Feedback.at >= signoff.at,
        Feedback.at <= closed_at).order_by(Feedback.id.desc()).limit(1))
    if feedback is not None:
        rows.append((_r(lang, "rating"), _r(lang, "stars", rating=feedback.rating)))
        rows.append((_r(lang, "comment"), feedback.comment or _r(lang, "no_comment")))
    return rows


def _photo(lang: str, attachment: Attachment, tz: object, signoff: Signoff | None, checkins: dict[int, Checkin],
           number: str) -> ReportPhoto:
    kind = "paper_photo" if signoff is not None and attachment.signoff_id == signoff.id else "site_photo"
    return report_photo(lang, _r(lang, kind, time=date_time(attachment.created_at, tz)), attachment,
                        checkins.get(attachment.checkin_id) if attachment.checkin_id else None, number, tz)


async def gather(session: AsyncSession, app: App, ticket_id: int, lang: str) -> ReportContent | None:
    """The report of the ticket's last close, in ``lang``; None if it was never closed."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.closed_at is None:
        return None
    all_events = list(await timeline(session, ticket.id))
    closed = close_event(all_events)
    if closed is None:
        return None
    events = [e for e in all_events if e.id <= closed.id]
    customer = await session.get(Customer, ticket.customer_id)
    signoff = await session.scalar(select(Signoff).where(Signoff.ticket_id == ticket.id, Signoff.at <= closed.at)
                                   .order_by(Signoff.id.desc()).limit(1))
    ids = {ticket.assignee_id} | {e.actor_id for e in events}
    for event in events:
        ids |= {v for k, v in (event.details or {}).items() if k.endswith("assignee_id") and isinstance(v, int)}
    if signoff is not None:
        ids |= {signoff.confirmed_by_id, signoff.collected_by_id}
    names = await people_names(session, ids)
    tz = app.tz
    # The site photos in the order taken (the first PHOTO_LIMIT), then the signed paper form's.
    photos = list((await session.scalars(select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.created_at <= closed.at, Attachment.checkin_id.is_not(None))
        .order_by(Attachment.id).limit(PHOTO_LIMIT))).all())
    if signoff is not None:
        photos += (await session.scalars(select(Attachment).where(Attachment.signoff_id == signoff.id)
                                         .order_by(Attachment.id))).all()
    checkin_ids = {a.checkin_id for a in photos if a.checkin_id}
    rows = (await session.scalars(select(Checkin).where(Checkin.id.in_(checkin_ids)))).all() if checkin_ids else []
    checkins = {c.id: c for c in rows}
    content = ReportContent(
        lang=lang, company=await _company(session, app, ticket), title=_r(lang, "title"), number=ticket.number,
        issued=_r(lang, "issued", time=date_time(closed.at, tz), zone=str(tz)), created=closed.at,
        timeline_heading=_r(lang, "timeline"),
        timeline=timeline_lines(lang, events, tz, names, checkins=checkins_of(events)),
        photos_heading=_r(lang, "photos"),
        photos=[_photo(lang, a, tz, signoff, checkins, ticket.number) for a in photos],
        footer=_r(lang, "footer"))
    content.sections = [
        (_r(lang, "customer"), [(_r(lang, "label.customer"), customer.name if customer else ""),
                                (_r(lang, "label.contact"), ticket.contact_name or t(lang, "view.no_contact")),
                                (_r(lang, "label.phone"), ticket.contact_phone),
                                (_r(lang, "label.address"), ticket.address),
                                (_r(lang, "label.registered"), date_time(ticket.created_at, tz))]),
        (_r(lang, "job"), _job(lang, ticket)),
        (_r(lang, "work"), _work(lang, ticket, names.get(ticket.assignee_id, ""))),
        (_r(lang, "clocks"), clock_rows(lang, ticket, tz) or [("", _r(lang, "no_clocks"))]),
        (_r(lang, "signoff"), await _signoff_rows(session, lang, ticket, signoff, events, names, tz)),
    ]
    return content


async def recipient_language(session: AsyncSession, app: App, person_id: int) -> str:
    person = await session.get(Person, person_id)
    return (person.language if person else None) or app.config.bot.language
