"""The knowledge base in chat: ``/kb WORDS`` for staff, and the past fixes an engineer is shown
right after accepting a ticket (:func:`similar_fixes_message`, called by the dispatch flow).

Searching is company-wide on purpose — a fix found in another team's ticket helps just as much —
so what is shown is technical only: number, model, date, fault type, symptom, findings, what was
done, parts and result, with customer details masked (see :mod:`models.kb`).  Customers have no
``/kb``: the command is for staff only.
"""

from __future__ import annotations

from handlers.context import Ctx
from handlers.i18n import preview
from handlers.messages import L, Lines, Msg, Raw
from handlers.registry import STAFF, Routes
from handlers.tickets import local
from models.kb import Fix, Query, find_fixes
from models.tickets import Ticket

routes = Routes()

#: Results of one ``/kb`` search (no paging: refine the words instead).
SEARCH_LIMIT = 5
#: Past fixes shown after an accept.
SIMILAR_LIMIT = 3
#: Longer queries are refused rather than silently cut: a pasted report is not a search.
QUERY_LIMIT = 200
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


def fix_lines(ctx: Ctx, fix: Fix) -> Lines:
    """One result: a heading line, then the report's technical lines that are filled in."""
    head = {"number": fix.number, "model": Raw(fix.model), "date": local(ctx, fix.resolved_at)[:10]}
    parts = [L("kb.entry_typed", {**head, "fault_type": Raw(fix.fault_type)}) if fix.fault_type
             else L("kb.entry", head)]
    for key, text in (("kb.symptom", fix.symptom), ("kb.findings", fix.findings), ("kb.actions", fix.actions),
                      ("kb.parts", fix.parts), ("kb.result", fix.result)):
        if text and text.strip():
            parts.append(L(key, {"text": Raw(snippet(text))}))
    return Lines(tuple(parts))


def results_message(ctx: Ctx, header: L, fixes: list[Fix]) -> Msg:
    """The header, then each fix after an empty line."""
    body: list = [header]
    for fix in fixes:
        body += [Raw(""), fix_lines(ctx, fix)]
    return Msg(body=Lines(tuple(body)))


@routes.command("kb", roles=STAFF, menu="kb.menu.kb")
async def kb_command(ctx: Ctx) -> None:
    words = " ".join(ctx.inbound.args.split())
    if len(words) > QUERY_LIMIT:
        ctx.reply("kb.too_long", limit=QUERY_LIMIT)
        return
    query = Query.from_text(words)
    if query.empty:
        ctx.reply("kb.usage")
        return
    fixes = await find_fixes(ctx.session, query, limit=SEARCH_LIMIT)
    if not fixes:
        ctx.reply("kb.none", words=Raw(preview(words)))
        return
    ctx.reply(results_message(ctx, L("kb.header", {"words": Raw(preview(words)), "count": len(fixes)}), fixes))


async def similar_fixes_message(ctx: Ctx, ticket: Ticket) -> Msg | None:
    """The most similar past fixes of the ticket's model (by fault type and symptom), or None
    when that model has none — an accept then gets no extra message at all."""
    query = Query.like_ticket(ticket.product_model, ticket.fault_type, ticket.fault_symptom)
    fixes = await find_fixes(ctx.session, query, limit=SIMILAR_LIMIT, model=ticket.product_model,
                             exclude_ticket_id=ticket.id)
    if not fixes:
        return None
    header = L("kb.similar_header", {"number": ticket.number, "model": Raw(ticket.product_model)})
    return results_message(ctx, header, fixes)
