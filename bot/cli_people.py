"""``fieldbot invite``: make a single-use staff invite and print its token and deep link."""

from __future__ import annotations

import argparse
import json

from handlers.i18n import t
from handlers.times import labelled
from models.enums import STAFF_ROLES, Role
from models.invites import create_invite, team_by_name


def add_commands(sub: argparse._SubParsersAction) -> None:
    invite = sub.add_parser("invite", help="invite a staff member (single-use, expiring link)")
    invite.add_argument("--role", required=True, choices=sorted(r.value for r in STAFF_ROLES))
    invite.add_argument("--name", required=True, help="the person's name, as colleagues know them")
    invite.add_argument("--team", help="team name; created when it does not exist yet")
    invite.add_argument("--json", action="store_true", help="print {\"token\": ..., \"link\": ...}")
    invite.set_defaults(handler=_invite)


async def _invite(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    from bot.cli import UsageError

    role = Role(args.role)
    if not args.name.strip():
        raise UsageError(key="cli.args.name_empty")
    now = app.clock.now()
    async with app.db.write() as session:
        team = await team_by_name(session, args.team.strip(), create=True) if args.team else None
        token = await create_invite(session, role=role, name=args.name, now=now,
                                    ttl=app.config.bot.invite_ttl, team_id=team.id if team else None)
    link = app.join_link(token)
    links = [other for _, other in app.join_links(token, customer=False)]
    ways = app.join_texts(token, customer=False)
    # Escalations go to a team's manager (teams.manager_id): a manager without a team gets none.
    warning = t(args.lang, "cli.invite.manager_no_team", name=args.name.strip()) \
        if role is Role.MANAGER and team is None else None
    if args.json:
        print(json.dumps({"token": token, "link": link, "links": links, **({"warning": warning} if warning else {})},
                         ensure_ascii=False))
        return 0
    expires = labelled(args.lang, now + app.config.bot.invite_ttl, app.tz)
    print(t(args.lang, "cli.invite_made", name=args.name.strip(), role=t(args.lang, f"role.{role.value}"),
            expires=expires))
    for line in ways:  # every channel the person may join on (a URL, or what to send where)
        print(line)
    if warning:
        print(warning)
    return 0
