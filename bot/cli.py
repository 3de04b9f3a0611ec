"""``fieldbot`` command line: database, config check, invites and tickets (and, later, the bot).

User mistakes get one line on stderr and exit code 2 (config problems: exit 1); tracebacks are
only for real bugs.  Output language follows ``--lang`` or ``bot.language`` from the config.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bot.config import ConfigError, load_config
from handlers.i18n import error_text, t
from models.errors import DomainError


class UsageError(Exception):
    """A bad argument, reported as one line and exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from bot import cli_inbox, cli_people, cli_report, cli_run, cli_tickets

    parser = _Parser(prog="fieldbot", description="Fieldbot: chat-first field service.")
    parser.add_argument("--config", type=Path, default=None,
                        help="config file (default ./config.toml, or $FIELDBOT_CONFIG)")
    parser.add_argument("--lang", choices=["zh-CN", "en"], default=None,
                        help="language of the output (default: bot.language from the config)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="create or migrate the schema to the latest version")

    sub.add_parser("check-config", help="validate the config file and print ok or every problem")
    cli_people.add_commands(sub)
    cli_tickets.add_commands(sub)
    cli_report.add_commands(sub)
    cli_inbox.add_commands(sub)
    cli_run.add_commands(sub)
    return parser


async def _db_upgrade(app, args) -> int:  # noqa: ANN001
    from models.migrate import current_revision, upgrade

    await upgrade(app.db)
    print(t(args.lang, "cli.db_upgraded", revision=await current_revision(app.db)))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for line in exc.problems:
            print(line)
        return 1
    lang = args.lang or config.bot.language
    for day in config.bot.makeup_on_workdays():
        print(t(lang, "cli.makeup_on_workday", date=day.isoformat(), weekday=t(lang, f"weekday.{day.weekday()}")))
    print(t(lang, "cli.config_ok"))
    return 0


async def _run(args: argparse.Namespace) -> int:
    from bot.app import build_app

    config = load_config(args.config)
    args.lang = args.lang or config.bot.language
    app = build_app(config)
    try:
        if args.command == "db":
            return await _db_upgrade(app, args)
        await _require_schema(app, args)
        return await args.handler(app, args)
    finally:
        await app.close()


async def _require_schema(app, args) -> None:  # noqa: ANN001
    from models.migrate import current_revision, head_revision

    if await current_revision(app.db) != head_revision():
        raise UsageError("the database is not up to date; run `fieldbot db upgrade` first")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "check-config":
        return _check_config(args)
    if getattr(args, "standalone", None):  # needs no config or database (emulator, demo)
        return args.standalone(args)
    try:
        return asyncio.run(_run(args))
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"fieldbot: error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"fieldbot: error: {error_text(args.lang, exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
