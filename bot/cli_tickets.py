"""``fieldbot ticket create|list|show|import`` (``cancel|reopen|edit``: :mod:`bot.cli_amend`).

Registration goes through :func:`models.registry.register_ticket`, the same rules the chat dialog
uses; every created ticket also gets a single-use customer link.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from bot import cli_links
from bot.csv_import import import_csv
from bot.widths import display_width, pad, table
from handlers.i18n import t
from handlers.times import zone_note
from handlers.fault_types import checked, team_fault_types
from handlers.timeline import timeline_lines
from handlers.verdict_text import explain_lines
from handlers.views import local_time, ticket_clocks, ticket_fields, ticket_json
from models.verdicts import explain, story_json
from models.enums import Role, ServiceType, TicketStatus
from models.errors import DomainError
from models.invites import create_invite, team_by_name
from models.queries import list_tickets, people_names, ticket_by_number, timeline
from models.registry import Registration, parse_severity
from models.tickets import Ticket


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def _severity(text: str) -> int:
    try:
        return parse_severity(text)
    except DomainError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a severity; use 1, 2, 3 or 4") from None


def add_commands(sub: argparse._SubParsersAction) -> None:
    from bot.cli import _Parser

    ticket = sub.add_parser("ticket", help="register, list, show and import tickets")
    tsub = ticket.add_subparsers(dest="ticket_command", required=True, parser_class=_Parser)

    create = tsub.add_parser("create", help="register a service request")
    create.add_argument("--customer", required=True)
    create.add_argument("--contact", help="contact person's name (optional: without it the customer is "
                                          "greeted without a name)")
    create.add_argument("--phone", required=True)
    create.add_argument("--address", required=True)
    create.add_argument("--model", required=True, help="product model")
    create.add_argument("--serial")
    create.add_argument("--purchased", type=_iso_date, help="purchase date YYYY-MM-DD (→ warranty)")
    create.add_argument("--fault", required=True, help="fault symptom as the customer describes it")
    create.add_argument("--fault-type", help="fault category for the monthly statistics")
    create.add_argument("--severity", required=True, type=_severity, help="1 (system down) … 4 (intermittent)")
    create.add_argument("--service", required=True, choices=[s.value for s in ServiceType])
    create.add_argument("--billable", action="store_true")
    create.add_argument("--team", help="team that handles it (default: the only team, if one)")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_create)

    lst = tsub.add_parser("list", help="list tickets, newest first")
    lst.add_argument("--status", choices=[s.value for s in TicketStatus])
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_list)

    show = tsub.add_parser("show", help="a ticket's fields and timeline")
    show.add_argument("number")
    show.add_argument("--json", action="store_true")
    show.add_argument("--explain", action="store_true",
                      help="for each SLA clock, the working time counted and the pauses not counted")
    show.set_defaults(handler=_show)

    imp = tsub.add_parser("import", help="register tickets from a CSV file (all or nothing)")
    imp.add_argument("file", type=argparse.FileType("rb"))
    imp.add_argument("--links", type=Path, metavar="FILE.csv",
                     help="write each ticket's customer link to this CSV file instead of printing them")
    imp.add_argument("--allow-duplicates", action="store_true",
                     help="also import rows that repeat a ticket of the last 30 days (same customer, phone, "
                          "model, serial and fault) or another row; by default they are skipped with a warning")
    imp.set_defaults(handler=_import)

    cli_links.add_commands(tsub)  # link

    from bot import cli_amend

    cli_amend.add_commands(tsub)  # cancel, reopen, edit

    from bot import cli_service_report

    cli_service_report.add_commands(tsub)  # report


async def _team_id(session, name: str | None) -> int | None:  # noqa: ANN001
    from sqlalchemy import select

    from models.people import Team

    if name:
        team = await team_by_name(session, name.strip())
        if team is None:
            raise DomainError("no_team", team=name)
        return team.id
    ids = (await session.scalars(select(Team.id).limit(2))).all()
    return ids[0] if len(ids) == 1 else None


async def _create(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    reg = Registration(
        customer=args.customer, contact=args.contact, phone=args.phone, address=args.address,
        model=args.model, serial=args.serial, purchased=args.purchased, fault=args.fault,
        fault_type=args.fault_type, severity=args.severity, service=ServiceType(args.service),
        billable=args.billable,
    )
    from models.registry import register_ticket

    now = app.clock.now()
    async with app.db.write() as session:
        reg.team_id = await _team_id(session, args.team)
        reg.fault_type = checked(reg.fault_type, await team_fault_types(session, app.config.faults, reg.team_id))
        ticket = await register_ticket(session, reg, now=now, today=app.today(), warranty=app.config.bot.warranty,
                                       clocks=app.sla)
        token = await create_invite(session, role=Role.CUSTOMER, name=reg.contact or reg.customer, now=now,
                                    ttl=app.config.bot.customer_link_ttl, ticket_id=ticket.id,
                                    customer_id=ticket.customer_id, team_id=ticket.team_id)
    link = app.join_link(token, customer=True)
    links = [other for _, other in app.join_links(token, customer=True)]
    if args.json:
        print(json.dumps({"number": ticket.number, "customer_token": token, "customer_link": link,
                          "customer_links": links}, ensure_ascii=False))
    else:
        print(t(args.lang, "cli.ticket_made", number=ticket.number))
        print(t(args.lang, "cli.customer_link"))
        for line in links:
            print(line)
    return 0


def _row(lang: str, ticket: Ticket, tz, names: dict[int, str]) -> list[str]:  # noqa: ANN001
    engineer = names.get(ticket.assignee_id, "—") if ticket.assignee_id else "—"
    return [ticket.number, t(lang, f"status.{ticket.status.value}"), str(ticket.severity),
            local_time(ticket.created_at, tz), ticket.customer.name, engineer, ticket.product_model]


def _header(lang: str) -> list[str]:
    return [t(lang, key) for key in ("view.number", "field.status", "field.severity", "view.registered",
                                     "field.customer", "view.assignee", "field.model")]


async def _list(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    status = TicketStatus(args.status) if args.status else None
    now = app.clock.now()
    async with app.db.read() as session:
        tickets = await list_tickets(session, status=status)
        names = await people_names(session, {tk.assignee_id for tk in tickets})
        if args.json:
            print(json.dumps([
                {k: v for k, v in ticket_json(tk, app.tz, names, [], now=now, policy=app.sla).items()
                 if k != "timeline"} for tk in tickets
            ], ensure_ascii=False))
            return 0
    if not tickets:
        print(t(args.lang, "cli.no_tickets"))
        return 0
    # Lined up by display width (a Chinese name takes two columns a character), with the engineer.
    print("\n".join(table([_header(args.lang)] + [_row(args.lang, tk, app.tz, names) for tk in tickets])))
    print(zone_note(args.lang, app.tz, now))  # the registered column's zone
    return 0


async def _show(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    now = app.clock.now()  # the clocks' remaining / overdue time is counted up to this moment
    async with app.db.read() as session:
        ticket = await ticket_by_number(session, args.number)
        if ticket is None:
            raise DomainError("no_ticket", number=args.number)
        events = await timeline(session, ticket.id)
        names = await people_names(session, {ticket.assignee_id} | {e.actor_id for e in events}
                                   | {e.details.get("assignee_id") for e in events})
        links = await cli_links.show_state(session, ticket, now)
    stories = [explain(ticket, events, app.sla, clock, now) for clock in ticket_clocks(ticket)] if args.explain else []
    if args.json:
        shown = ticket_json(ticket, app.tz, names, events, now=now, policy=app.sla)
        if args.explain:
            shown["sla_explain"] = {story.clock: story_json(story) for story in stories}
        shown.update(cli_links.show_json(links, app.tz))
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return 0
    fields = ticket_fields(args.lang, ticket, app.tz, names, now=now, policy=app.sla)
    width = max(display_width(label) for label, _ in fields)
    for label, value in fields:
        print(f"{pad(label, width)}  {value}")
    print()
    print("\n".join(cli_links.show_lines(args.lang, ticket, links, app.tz)))
    for story in stories:
        print()
        print("\n".join(explain_lines(args.lang, story, ticket, app.tz, now=now, policy=app.sla)))
    print()
    print(t(args.lang, "cli.timeline"))
    for line in timeline_lines(args.lang, events, app.tz, names):
        print("  " + line)
    return 0


async def _import(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    with args.file as fh:
        raw = fh.read()
    hand_out = (lambda made: cli_links.write_links(app, args.links, made, args.lang)) if args.links else None
    skipped: list[str] = []
    made, problems = await import_csv(app, raw, lang=args.lang, hand_out=hand_out,
                                      allow_duplicates=args.allow_duplicates, skipped=skipped)
    if problems:
        for line in problems:
            print(line)
        print(t(args.lang, "cli.import_bad", count=len(problems)))
        return 1
    for line in skipped:
        print(line)
    print(t(args.lang, "cli.import_ok", count=len(made)))
    if skipped:
        print(t(args.lang, "cli.duplicates.summary", count=len(skipped)))
    if args.links:
        print(t(args.lang, "links.cli.import_written", path=str(args.links)))
    elif made:
        print("\n".join(cli_links.import_lines(app, args.lang, made)))
    return 0
