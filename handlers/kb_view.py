"""How the knowledge base's results read in chat: one past fix per entry — number, model, date,
fault type, then the report's technical lines cut short — for ``/kb`` (:mod:`handlers.flows.kb`)
and for the past fixes an engineer is shown right after accepting a ticket
(:func:`similar_fixes_message`, used by the dispatch flow)."""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.fault_types import fault_label
from handlers.messages import L, Lines, Msg, Raw
from handlers.views import local_time
from models.kb import Fix, Query, find_fixes
from models.tickets import Ticket

#: Past fixes shown after an accept.
SIMILAR_LIMIT = 3
#: Each report text is cut to this many characters in a result.
SNIPPET = 80


def snippet(text: str | None, limit: int = SNIPPET) -> str:
    """One line of at most ``limit`` characters (whitespace collapsed, "…" when cut); spaced text
    is cut between words if one ends near the limit (Chinese, without spaces, anywhere)."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if flat[limit - 1] != " " and " " in cut[-20:]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + "…"


def fix_lines(fix: Fix, tz: tzinfo) -> Lines:
    """One result: a heading line, then the report's technical lines that are filled in."""
    head = {"number": fix.number, "model": Raw(fix.model), "date": local_time(fix.resolved_at, tz)[:10]}
    parts = [L("kb.entry_typed", {**head, "fault_type": fault_label(fix.fault_type)}) if fix.fault_type
             else L("kb.entry", head)]
    for key, text in (("kb.symptom", fix.symptom), ("kb.findings", fix.findings), ("kb.actions", fix.actions),
                      ("kb.parts", fix.parts), ("kb.result", fix.result)):
        if text and text.strip():
            parts.append(L(key, {"text": Raw(snippet(text))}))
    return Lines(tuple(parts))


def results_message(header: L, fixes: list[Fix], tz: tzinfo) -> Msg:
    """The header, then each fix after an empty line."""
    body: list = [header]
    for fix in fixes:
        body += [Raw(""), fix_lines(fix, tz)]
    return Msg(body=Lines(tuple(body)))


async def similar_fixes_message(session: AsyncSession, ticket: Ticket, tz: tzinfo) -> Msg | None:
    """The most similar past fixes of the ticket's model (by fault type and symptom), or None
    when that model has none — an accept then gets no extra message at all."""
    query = Query.like_ticket(ticket.product_model, ticket.fault_type, ticket.fault_symptom)
    fixes = await find_fixes(session, query, limit=SIMILAR_LIMIT, model=ticket.product_model,
                             exclude_ticket_id=ticket.id)
    if not fixes:
        return None
    header = L("kb.similar_header", {"number": ticket.number, "model": Raw(ticket.product_model)})
    return results_message(header, fixes, tz)
