"""The service report (技术支持现场服务单) as issued: one row per ticket and language.

The PDF is rendered from the stored data after the sign-off's commit (see
:mod:`handlers.service_report`), never inside it; this row records what was made — the file in
the media store, its sha256, and the digest of its canonical content printed in its footer — so
a PDF someone hands back can be checked against the ticket (``fieldbot ticket report N --verify``).

Its own table rather than columns on ``tickets``: the ticket row carries an optimistic-lock
version (``version_id_col``), and writing the digests after rendering must never make a handler's
concurrent change of the ticket fail.  A reopened and closed-again ticket gets a new report: the
row is replaced (the earlier PDF stays in the media store, content-addressed).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ServiceReport(Base):
    __tablename__ = "service_reports"
    __table_args__ = (UniqueConstraint("ticket_id", "lang", name="uq_service_reports_ticket_lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    #: The language the document is written in (each language is its own document and digest).
    lang: Mapped[str] = mapped_column(String(16))
    #: The layout's version (:data:`handlers.service_report_content.LAYOUT`) and the PDF library's
    #: version: the same data renders to the same bytes only with both the same.
    layout: Mapped[str] = mapped_column(String(40))
    #: The close the report belongs to (its data ends there): a later close makes a new report.
    closed_at: Mapped[datetime]
    #: sha256 of the report's canonical content (printed in the PDF's footer).
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: sha256 of the PDF file's bytes.
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    #: The PDF in the media store (relative path, content-addressed).
    path: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    rendered_at: Mapped[datetime] = mapped_column(default=utcnow)


async def report_of(session: AsyncSession, ticket_id: int, lang: str) -> ServiceReport | None:
    return await session.scalar(select(ServiceReport).where(ServiceReport.ticket_id == ticket_id,
                                                            ServiceReport.lang == lang))


async def reports_of(session: AsyncSession, ticket_id: int) -> list[ServiceReport]:
    return list((await session.scalars(select(ServiceReport).where(ServiceReport.ticket_id == ticket_id)
                                       .order_by(ServiceReport.lang))).all())
