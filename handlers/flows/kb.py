"""The knowledge base in chat: ``/kb WORDS`` for staff, and the past fixes an engineer is shown
right after accepting a ticket (:func:`handlers.kb_view.similar_fixes_message`, used by the
dispatch flow).

Searching is company-wide on purpose — a fix found in another team's ticket helps just as much —
so what is shown is technical only: number, model, date, fault type, symptom, findings, what was
done, parts and result, with customer details masked (see :mod:`models.kb`).  Customers have no
``/kb``: the command is for staff only.
"""

from __future__ import annotations

from handlers.context import Ctx
from handlers.i18n import preview
from handlers.kb_view import results_message
from handlers.messages import L, Raw
from handlers.registry import STAFF, Routes
from models.kb import Query, find_fixes

routes = Routes()

#: Results of one ``/kb`` search (no paging: refine the words instead).
SEARCH_LIMIT = 5
#: Longer queries are refused rather than silently cut: a pasted report is not a search.
QUERY_LIMIT = 200


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
    ctx.reply(results_message(L("kb.header", {"words": Raw(preview(words)), "count": len(fixes)}), fixes,
                              ctx.app.tz))
