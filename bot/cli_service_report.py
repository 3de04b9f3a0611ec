"""``fieldbot ticket report NUMBER --pdf FILE`` writes the ticket's signed service report as a PDF,
rendered afresh from the stored data — the same bytes as the one issued (sent in chat), which it
says otherwise (the data changed since, e.g. a person's name); ``--verify FILE`` checks a PDF someone
hands back against the ticket (:func:`handlers.service_report.verify`).  The report is in the
run's language (``--lang``)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from pathlib import Path

from handlers.i18n import normalise_language, t
from handlers.service_report import issue, render, verify
from models.errors import DomainError
from models.queries import ticket_by_number


def add_commands(tsub: argparse._SubParsersAction) -> None:
    report = tsub.add_parser("report", help="the ticket's signed service report as a PDF (write or verify)")
    report.add_argument("number")
    what = report.add_mutually_exclusive_group(required=True)
    what.add_argument("--pdf", type=Path, metavar="FILE", help="write the PDF to FILE")
    what.add_argument("--verify", type=Path, metavar="FILE", help="check FILE against the ticket's service report")
    report.set_defaults(handler=_report)


async def _report(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    lang = normalise_language(args.lang)
    async with app.db.read() as session:
        ticket = await ticket_by_number(session, args.number)
        if ticket is None:
            raise DomainError("no_ticket", number=args.number)
    if args.verify is not None:
        data = await asyncio.to_thread(args.verify.read_bytes)
        verdict = await verify(app, ticket.id, data)
        report = verdict.report
        print(t(lang, verdict.key, file=args.verify, number=ticket.number, lang=report.lang if report else lang,
                sha=report.pdf_sha256 if report else verdict.file_sha256, digest=verdict.file_digest or ""))
        return 0 if verdict.key == "service_report.cli.verified" else 1
    issued = await issue(app, ticket.id, lang)  # the one on record (made now if it never was)
    made = await render(app, ticket.id, lang)  # and afresh from the stored data
    if issued is None or made is None:
        print(t(lang, "service_report.cli.not_issued", number=ticket.number))
        return 1
    content, data = made
    await asyncio.to_thread(args.pdf.write_bytes, data)
    sha = hashlib.sha256(data).hexdigest()
    print(t(lang, "service_report.cli.written", file=args.pdf, number=ticket.number, lang=lang, sha=sha,
            digest=content.digest()))
    if sha != issued.pdf_sha256:  # the data changed since it was issued (a person renamed, say)
        print(t(lang, "service_report.cli.differs", sha=issued.pdf_sha256, digest=issued.content_sha256))
    return 0
