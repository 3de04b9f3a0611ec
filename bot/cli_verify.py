"""``fieldbot report --verify [--month M] [--team T]``: the month's statistics rebuilt from the
event log and compared with the live report, figure by figure (:mod:`models.verify`).  Every
difference is printed with the tickets behind it and the exit code is 1; tickets the log cannot
rebuild are listed apart ("not in the event log"); otherwise one line says how many figures agree.
"""

from __future__ import annotations

import argparse

from handlers.i18n import t
from models.verify import Difference, Verification


def _value(figure: str, value: object) -> str:
    if value is None:
        return "—"
    if figure == "handling_seconds" and isinstance(value, float):
        return f"{value:.3f} s"
    if figure in ("first_visit_rate", "sla_met_rate") and isinstance(value, float):
        return f"{value * 100:.2f}%"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _line(lang: str, d: Difference) -> str:
    where = t(lang, f"verify.dimension.{d.dimension}")
    if d.dimension not in ("total", "incomplete"):
        where += " " + (d.label if d.label else t(lang, "verify.unnamed"))
    tickets = t(lang, "list.sep").join(d.tickets) if d.tickets else t(lang, "verify.no_ticket")
    return t(lang, "verify.difference", where=where, figure=t(lang, f"verify.figure.{d.figure}"),
             live=_value(d.figure, d.live), rebuilt=_value(d.figure, d.rebuilt), tickets=tickets)


def verification_text(lang: str, v: Verification) -> list[str]:
    lines = []
    if v.not_in_log:
        lines.append(t(lang, "verify.not_in_log", count=len(v.not_in_log)))
        lines += [t(lang, "verify.not_in_log_ticket", number=n, reason=t(lang, f"verify.reason.{r}")) for n, r in sorted(v.not_in_log.items())]
    if v.differences:
        lines.append(t(lang, "verify.differ", count=len(v.differences), figures=v.figures, month=str(v.month)))
        lines += [_line(lang, d) for d in v.differences]
    else:
        lines.append(t(lang, "verify.agree", figures=v.figures, month=str(v.month)))
    return lines


async def verify(app, session, args: argparse.Namespace, month, team) -> int:  # noqa: ANN001
    from models.verify import verify_month

    result = await verify_month(session, month, app.tz, team_id=team.id if team else None)
    for line in verification_text(args.lang, result):
        print(line)
    return 1 if result.differences else 0
