"""``/report [YYYY-MM]`` (supervisors, managers, dispatchers): the month's service statistics for
the asker's team — a short table per breakdown and a chart — defaulting to last month.
``/report performance [YYYY-MM]`` (supervisors and managers): the monthly performance sheet
(月度绩效) of the team's engineers; a manager can approve the month (**Approve**), after which the
approved figures are shown with any later difference listed.

The team is the asker's own (with tickets that have no team, as :func:`models.access.can_see`
lets office staff see them); staff without a team see every team.  Months are the team's months
(``bot.timezone``).  A bad month gets one line and nothing else.
"""

from __future__ import annotations

from handlers.context import Ctx
from handlers.dialogs import button_arg
from handlers.i18n import preview
from handlers.registry import Routes
from handlers.messages import Msg, Raw
from handlers.performance_view import approved_view, sheet_pages
from handlers.report_chart import report_message
from handlers.report_view import month_name
from models.enums import Role
from models.errors import DomainError
from models.people import Team
from models.performance import performance_sheet
from models.reports import month_before, monthly_report, parse_month
from models.sheet_approval import approve

routes = Routes()

REPORTERS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.DISPATCHER})


#: Who sees the performance sheet (月度绩效); managers also approve it.
SHEET_READERS = frozenset({Role.SUPERVISOR, Role.MANAGER})
PERFORMANCE_WORDS = ("performance", "绩效")


@routes.command("report", roles=REPORTERS, menu="report.menu")
async def report(ctx: Ctx) -> None:
    asked = ctx.inbound.args.strip()
    words = asked.split()
    if words and words[0].lower() in PERFORMANCE_WORDS:
        await _performance(ctx, " ".join(words[1:]))
        return
    try:
        month = parse_month(asked) if asked else month_before(ctx.app.local(ctx.now).date())
    except ValueError:
        ctx.reply("report.bad_month", value=preview(asked))
        return
    data = await monthly_report(ctx.session, month, ctx.app.tz, team_id=ctx.person.team_id)
    ctx.reply(await report_message(ctx.app, ctx.session, data, ctx.lang))


async def _performance(ctx: Ctx, asked: str) -> None:
    """``/report performance [YYYY-MM]``: the sheet for the asker's team; a manager gets **Approve**
    while the month is not approved."""
    if ctx.person.role not in SHEET_READERS:
        ctx.reply("perf.managers_only")
        return
    try:
        month = parse_month(asked) if asked else month_before(ctx.app.local(ctx.now).date())
    except ValueError:
        ctx.reply("perf.usage")
        return
    live = await performance_sheet(ctx.session, month, ctx.app.tz, ctx.app.config.pay)
    shown, approved, changed = await approved_view(ctx.session, ctx.app.tz, live, month)
    team = await ctx.session.get(Team, ctx.person.team_id) if ctx.person.team_id is not None else None
    pages = sheet_pages(shown, ctx.person.team_id, team.name if team else None, ctx.lang,
                        approved=approved, changed=changed)
    buttons = []
    if approved is None and ctx.person.role is Role.MANAGER:
        buttons = [[("perf.approve_button", f"pfa:{month.year:04d}{month.month:02d}")]]
    for page in pages[:-1]:
        ctx.reply(Msg(body=page))
    ctx.reply(Msg(body=pages[-1], buttons=buttons))  # Approve under the end of the sheet


@routes.callback("pfa", roles=frozenset({Role.MANAGER}))
async def approve_month(ctx: Ctx) -> None:
    """A manager approves the month's sheet (every team's, as it stands now): stored, then frozen."""
    code = button_arg(ctx, 0)
    try:
        month = parse_month(f"{code[:4]}-{code[4:]}")
    except ValueError:
        raise DomainError("stale_button") from None
    sheet = await performance_sheet(ctx.session, month, ctx.app.tz, ctx.app.config.pay)
    await approve(ctx.session, sheet, ctx.person, now=ctx.now)
    ctx.reply(Msg("perf.approved_done", {"month": month_name(month), "by": Raw(ctx.person.name)}))
