"""Customer links on the command line: ``fieldbot ticket link NUMBER [--name NAME]`` issues one
again (:func:`models.customer_links.issue_link`: that contact's earlier unopened link stops
working), ``ticket import`` hands out the links it makes (printed, or ``--links FILE.csv``), and
``ticket show`` says who at the customer follows the ticket and how to send a link again — a link
is shown only when it is made (only its hash is kept).

Each link is printed per channel customers use: the Telegram deep link (``t.me/<bot>?start=…``)
and, with WeCom's customer service configured, the 微信客服 link with the signed ``scene_param``.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from handlers.i18n import t
from handlers.links_view import names
from handlers.times import labelled
from handlers.views import local_time
from models.customer_links import contacts, issue_link, open_links
from models.errors import DomainError
from models.lifecycle import FINAL_STATES
from models.queries import ticket_by_number
from models.tickets import Ticket


def add_commands(tsub: argparse._SubParsersAction) -> None:
    link = tsub.add_parser("link", help="issue a ticket's customer link again (the contact's earlier one stops working)")
    link.add_argument("number")
    link.add_argument("--name", help="whom it is for: another person at the customer (default: the ticket's contact)")
    link.add_argument("--json", action="store_true")
    link.set_defaults(handler=_link)


def channel_links(app: Any, token: str) -> list[tuple[str, str]]:  # noqa: ANN401
    """(channel, link) for every channel customers use (:meth:`bot.app.App.join_links`)."""
    return [(traits.channel.value, link) for traits, link in app.join_links(token, customer=True)]


def link_lines(lang: str, links: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    return [f"{indent}{t(lang, f'links.channel.{channel}')}: {link}" for channel, link in links]


async def _link(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    now = app.clock.now()
    async with app.db.write() as session:
        ticket = await ticket_by_number(session, args.number)
        if ticket is None:
            raise DomainError("no_ticket", number=args.number)
        issued = await issue_link(session, ticket, name=args.name, now=now, ttl=app.config.bot.customer_link_ttl)
        following = [p.name for p in await contacts(session, ticket)]
    links = channel_links(app, issued.token)
    if args.json:
        print(json.dumps({"number": ticket.number, "name": issued.name, "token": issued.token,
                          "expires": issued.expires_at.astimezone(app.tz).isoformat(), "links": dict(links),
                          "replaced": issued.replaced, "following": following}, ensure_ascii=False))
        return 0
    lang = args.lang
    print(t(lang, "links.cli.head", number=ticket.number, customer=ticket.customer.name, name=issued.name,
            expires=labelled(lang, issued.expires_at, app.tz)))
    print("\n".join(link_lines(lang, links)))
    if issued.replaced:
        print(t(lang, "links.replaced", name=issued.name))
    print(t(lang, "links.cli.show_following", names=names(following, lang)) if following
          else t(lang, "links.cli.show_nobody"))
    return 0


# -- ticket import ---------------------------------------------------------------------------------
#: The links file's columns (English, like the import file's); one more per customer channel.
LINK_COLUMNS = ("number", "customer", "contact", "phone", "valid_until")


def import_lines(app: Any, lang: str, made: Sequence[Any]) -> list[str]:  # noqa: ANN401
    """``ticket import``'s links as printed: per ticket its number and contact, then each channel's link."""
    lines = [t(lang, "links.cli.import_head", expires=labelled(lang, made[0].expires_at, app.tz))] if made else []
    for row in made:
        lines.append(f"{row.number}  {row.customer} · {row.contact}")
        lines += link_lines(lang, channel_links(app, row.token))
    return lines


def write_links(app: Any, path: Path, made: Sequence[Any], lang: str) -> None:  # noqa: ANN401
    """The links as CSV (UTF-8 with BOM: opens in Excel), one row per ticket.  Raises the CLI's
    usage error when the file cannot be written: the import then rolls back."""
    from bot.cli import UsageError
    from bot.cli_report import _safe

    channels = [traits.channel.value for traits, _ in app.join_links("-", customer=True)]
    try:
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            out = csv.writer(fh)
            out.writerow([*LINK_COLUMNS, *channels])
            for row in made:
                links = dict(channel_links(app, row.token))
                out.writerow([row.number, _safe(row.customer), _safe(row.contact), _safe(row.phone),
                              local_time(row.expires_at, app.tz), *(links[c] for c in channels)])
    except OSError as exc:
        raise UsageError(t(lang, "links.cli.import_unwritable", path=str(path), reason=exc.strerror or str(exc))) from None


# -- ticket show -----------------------------------------------------------------------------------
async def show_state(session: Any, ticket: Ticket, now: datetime) -> dict[str, Any]:  # noqa: ANN401
    """Who follows the ticket in chat, and its links not opened yet (names and expiry)."""
    return {"following": [p.name for p in await contacts(session, ticket)],
            "pending": [(i.name, i.expires_at) for i in await open_links(session, ticket.id, now)]}


def show_lines(lang: str, ticket: Ticket, state: dict[str, Any], tz: Any) -> list[str]:  # noqa: ANN401
    following, pending = state["following"], state["pending"]
    lines = [t(lang, "links.cli.show_following", names=names(following, lang)) if following
             else t(lang, "links.cli.show_nobody")]
    if pending:
        lines.append(t(lang, "links.cli.show_pending", names=names(
            [t(lang, "links.cli.until", name=name, expires=local_time(at, tz)) for name, at in pending], lang)))
    if ticket.status not in FINAL_STATES:
        lines.append(t(lang, "links.cli.show_hint", number=ticket.number))
    return lines


def show_json(state: dict[str, Any], tz: Any) -> dict[str, Any]:  # noqa: ANN401
    return {"customer_following": state["following"],
            "customer_links_open": [{"name": name, "expires": at.astimezone(tz).isoformat()}
                                    for name, at in state["pending"]]}
