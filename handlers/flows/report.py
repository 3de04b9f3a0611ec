"""``/report [YYYY-MM]`` (supervisors, managers, dispatchers): the month's service statistics for
the asker's team — a short table per breakdown and a chart — defaulting to last month.

The team is the asker's own (with tickets that have no team, as :func:`models.access.can_see`
lets office staff see them); staff without a team see every team.  Months are the team's months
(``bot.timezone``).  A bad month gets one line and nothing else.
"""

from __future__ import annotations

from handlers.context import Ctx
from handlers.i18n import preview
from handlers.registry import Routes
from handlers.report_chart import report_message
from models.enums import Role
from models.reports import month_before, monthly_report, parse_month

routes = Routes()

REPORTERS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.DISPATCHER})


@routes.command("report", roles=REPORTERS, menu="report.menu")
async def report(ctx: Ctx) -> None:
    asked = ctx.inbound.args.strip()
    try:
        month = parse_month(asked) if asked else month_before(ctx.app.local(ctx.now).date())
    except ValueError:
        ctx.reply("report.bad_month", value=preview(asked))
        return
    data = await monthly_report(ctx.session, month, ctx.app.tz, team_id=ctx.person.team_id)
    ctx.reply(await report_message(ctx.app, ctx.session, data, ctx.lang))
