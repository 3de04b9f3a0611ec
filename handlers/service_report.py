"""The signed service report (技术支持现场服务单) as a PDF: when it is made, who gets it, how it is
checked.

**When.**  The report is due when the ticket is *closed* after the customer's sign-off — in chat
after the rating and comment (so they are on it), on paper as soon as the form's photo and signer
are stored.  That transaction only writes outbox rows whose document is a pointer, "the service
report of ticket N" (:func:`report_due`); nothing is rendered inside it.  Rendering takes tens to
hundreds of milliseconds of CPU and must not hold the write transaction (issue 16).

**Where.**  The outbox sender resolves the pointer just before sending (:func:`resolve_document`):
it renders the report from the stored data in a worker thread (:func:`issue`), stores the PDF in
the media store (content-addressed) and records its digests in ``service_reports`` in a short
write of its own, then sends the file.  Chosen over a separate worker because the outbox already
is the crash-safe queue: a kill -9 between the confirmation and the rendering leaves the rows
pending, and the sender renders and sends after the restart; a row is marked sent once, as every
row is.  Rendering twice (a retry, two recipients, two instances racing) is harmless: the
rendering is deterministic, so it gives the same file, and a report issued for a close is not
rendered again (nor replaced: the file people were sent stays the one on record).

**Language.**  Each recipient gets the report in their own language; each language version is its
own deterministic document with its own digest (one ``service_reports`` row per ticket and language).

**Digest.**  See :mod:`handlers.service_report_data`: the footer prints the sha256 of the report's
canonical content; the sha256 of the PDF file is stored beside it.  :func:`verify` checks a file
against the ticket: the same bytes as issued, or (re-saved by some program) the same content.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from handlers.i18n import t
from handlers.media import MediaStore
from handlers.messages import L, Msg
from handlers.service_report_content import LAYOUT, ReportContent
from handlers.service_report_data import gather
from handlers.service_report_pdf import render_pdf
from handlers.stamp import stamped_copy
from models.queries import customer_people
from models.service_reports import ServiceReport, report_of, reports_of
from models.tickets import Ticket

if TYPE_CHECKING:
    from bot.app import App
    from handlers.channel import Outbound
    from handlers.context import Ctx

log = logging.getLogger(__name__)

_KEYWORD = re.compile(rb"content-sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class Issued:
    ticket_id: int
    number: str
    lang: str
    path: str
    pdf_sha256: str
    content_sha256: str
    size: int

    @property
    def filename(self) -> str:
        return t(self.lang, "service_report.file_name", number=self.number)


def layout_id() -> str:
    import fpdf

    return f"{LAYOUT}/fpdf2-{fpdf.__version__}"


def report_message(ticket: Ticket) -> Msg:
    """The chat message carrying the report (the caption, and the pointer the sender resolves)."""
    return Msg("service_report.caption", {"number": ticket.number},
               document={"report": ticket.id, "number": ticket.number},
               document_fallback=L("service_report.no_file", {"number": ticket.number}))


async def report_due(ctx: Ctx, ticket: Ticket, supervisor_id: int | None) -> None:
    """At the close: the report to the customer's people and the supervisor (outbox rows only).
    The dedupe key names the close (``reopens``), so a report goes once per close and person."""
    told: set[int] = set()
    for person_id in [*await customer_people(ctx.session, ticket.customer_id), supervisor_id]:
        if person_id is None or person_id in told:
            continue
        told.add(person_id)
        await ctx.notify(person_id, report_message(ticket), purpose="service_report", ticket_id=ticket.id,
                         dedupe=f"srpt:{ticket.id}:{ticket.reopens}:{person_id}")


async def render(app: App, ticket_id: int, lang: str, media_root: Any = None) -> tuple[ReportContent, bytes] | None:  # noqa: ANN401
    """Gather (one read) and render (a worker thread) the report; None if the ticket was never closed."""
    async with app.db.read() as session:
        content = await gather(session, app, ticket_id, lang)
    if content is None:
        return None
    root = media_root if media_root is not None else app.config.storage.media_dir
    for i, photo in enumerate(content.photos):  # check-in photos drawn from their stamped copies
        if photo.stamp is not None:
            try:
                stamped = await stamped_copy(root, photo.stamp)
            except Exception:  # noqa: BLE001 — the original stays on the report, and the log says why
                log.exception("stamped copy of photo %s for the service report", photo.sha256)
                continue
            content.photos[i] = replace(photo, path=stamped.path)
    data = await asyncio.to_thread(render_pdf, content, root, missing_photo=t(lang, "service_report.photo_missing"))
    return content, data


async def issue(app: App, ticket_id: int, lang: str, *, media: MediaStore | None = None) -> Issued | None:
    """The report of the ticket's last close in ``lang``: the one already issued for that close
    (an issued document is never replaced: the file someone was sent stays the one on record), or
    rendered now, kept in the media store and recorded; None if the ticket was never closed."""
    media = media or MediaStore(app.config.storage.media_dir)
    async with app.db.read() as session:
        stored = await report_of(session, ticket_id, lang)
        ticket = await session.get(Ticket, ticket_id)
    if (stored is not None and ticket is not None and stored.closed_at == ticket.closed_at
            and stored.layout == layout_id() and media.absolute(stored.path).exists()):
        return Issued(ticket_id, ticket.number, lang, stored.path, stored.pdf_sha256, stored.content_sha256,
                      stored.size)
    made = await render(app, ticket_id, lang, media.root)
    if made is None:
        return None
    content, data = made
    saved = await media.save(data)
    issued = Issued(ticket_id, content.number, lang, saved.path, saved.sha256, content.digest(), saved.size)
    # Shielded, as the sender's own bookkeeping is: once begun, the short write is not cut short
    # by a stop (a cancelled write could leave SQLite's write lock with a half-closed connection).
    await asyncio.shield(_record(app, issued, content))
    return issued


async def _record(app: App, issued: Issued, content: ReportContent) -> None:
    values = {"layout": layout_id(), "closed_at": content.created, "content_sha256": issued.content_sha256,
              "pdf_sha256": issued.pdf_sha256, "path": issued.path, "size": issued.size,
              "rendered_at": app.clock.now()}
    for attempt in (1, 2):  # two senders may record the same report at once: the second updates
        try:
            async with app.db.write() as session:
                row = await report_of(session, issued.ticket_id, issued.lang)
                if row is None:
                    session.add(ServiceReport(ticket_id=issued.ticket_id, lang=issued.lang, **values))
                elif row.closed_at != content.created or row.layout != values["layout"] or row.path != issued.path:
                    for key, value in values.items():
                        setattr(row, key, value)
            return
        except IntegrityError:
            if attempt == 2:
                raise


async def resolve_document(app: App, out: Outbound, media_root: Any = None) -> Outbound:  # noqa: ANN401
    """The outbox sender's step before sending: a "service report of ticket N" pointer becomes the
    stored PDF (rendered now if need be)."""
    document = out.document or {}
    if "report" not in document or document.get("path"):
        return out
    lang = document.get("lang") or out.lang or app.config.bot.language
    issued = await issue(app, int(document["report"]), lang,
                         media=MediaStore(media_root) if media_root is not None else None)
    if issued is None:  # never closed (a forged pointer): the caption alone
        return replace(out, document=None)
    return replace(out, document={"path": issued.path, "filename": issued.filename, "sha256": issued.pdf_sha256,
                                  "mime": "application/pdf", "fallback": document.get("fallback", "")})


@dataclass(frozen=True)
class Verdict:
    key: str  # service_report.cli.verified / same_content / mismatch / not_issued
    report: ServiceReport | None
    file_sha256: str
    file_digest: str | None


async def verify(app: App, ticket_id: int, data: bytes) -> Verdict:
    """A PDF file against the ticket's issued reports (any language): its sha256 equals a stored
    PDF's (the file as issued), or the content digest it carries (footer and metadata) equals a
    stored one *and* the report the data renders today (the same content, other bytes)."""
    sha = hashlib.sha256(data).hexdigest()
    found = _KEYWORD.search(data)
    digest = found.group(1).decode() if found else None
    async with app.db.read() as session:
        rows = await reports_of(session, ticket_id)
        if not rows:
            return Verdict("service_report.cli.not_issued", None, sha, digest)
        for row in rows:
            if row.pdf_sha256 == sha:
                return Verdict("service_report.cli.verified", row, sha, digest)
        for row in rows:
            if digest and row.content_sha256 == digest:
                content = await gather(session, app, ticket_id, row.lang)
                if content is not None and content.digest() == digest:
                    return Verdict("service_report.cli.same_content", row, sha, digest)
    return Verdict("service_report.cli.mismatch", rows[0], sha, digest)
