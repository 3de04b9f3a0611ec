"""``fieldbot`` command line: database, config check, invites and tickets, the bot, the demo.

User mistakes get one line on stderr and exit code 2; a config or an environment that stops a
command (a wrong token, the database down, a port in use) one line and exit code 1; tracebacks are
only for real bugs.  One language per run, argparse's words included (:mod:`bot.cli_lang`).
``fieldbot`` alone prints an overview.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from bot import cli_lang
from bot.config import ConfigError, load_config
from bot.startup_db import StartupError
from handlers.i18n import error_text, t
from models.errors import DomainError

#: Commands that print Telegram links: the bot's @username must be known before they write anything.
LINK_COMMANDS = {("invite", None), ("ticket", "create"), ("ticket", "import"), ("ticket", "link")}


class UsageError(Exception):
    """A bad argument, reported as one line and exit code 2: ``key`` a catalog text, or a plain message."""

    def __init__(self, message: str = "", *, key: str | None = None, **params: Any):  # noqa: ANN401
        super().__init__(message or key or "")
        self.message, self.key, self.params = message, key, params

    def text(self, lang: str) -> str:
        return t(lang, self.key, **self.params) if self.key else self.message


class _Parser(argparse.ArgumentParser):
    """Every fieldbot parser: errors in one line in the run's language, and ``--lang`` and
    ``--config`` after the command too (not overriding the same options given before it)."""

    language = "en"  # set by main() for the run

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        lang = _Parser.language
        default = None if top else argparse.SUPPRESS
        self.add_argument("--config", type=Path, default=default, metavar="PATH", help=t(lang, "cli.args.config"))
        self.add_argument("--lang", type=cli_lang.lang_type(lang), default=default, metavar="zh|en",
                          help=t(lang, "cli.args.lang"))

    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, t(_Parser.language, "cli.args.error", prog=self.prog, message=message) + "\n")


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    from bot import cli_inbox, cli_people, cli_report, cli_run, cli_tickets

    if lang is not None:
        _Parser.language = lang
    parser = _Parser(prog="fieldbot", description=t(_Parser.language, "cli.args.description"), top=True)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="create or migrate the schema to the latest version")

    sub.add_parser("check-config", help="validate the config file and print ok or every problem")
    cli_people.add_commands(sub)
    cli_tickets.add_commands(sub)
    cli_report.add_commands(sub)
    cli_inbox.add_commands(sub)
    cli_run.add_commands(sub)
    cli_lang.translate_commands(parser, _Parser.language)
    return parser


async def _db_upgrade(app, args) -> int:  # noqa: ANN001
    from models.migrate import current_revision, upgrade

    await upgrade(app.db)
    print(t(args.lang, "cli.db_upgraded", revision=await current_revision(app.db)))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from bot.config_check import problems

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for line in exc.problems:
            print(line)
        return 1
    lang = args.lang
    errors, warnings = problems(config, lang)
    for day in config.bot.makeup_on_workdays():
        print(t(lang, "cli.makeup_on_workday", date=day.isoformat(), weekday=t(lang, f"weekday.{day.weekday()}")))
    for line in errors + warnings:
        print(line)
    if errors:
        return 1
    print(t(lang, "cli.config_ok"))
    return 0


def _refused_by_review(config, lang: str) -> bool:  # noqa: ANN001
    """``run`` applies check-config's review: errors stop it, warnings are said and it runs."""
    from bot.config_check import problems

    errors, warnings = problems(config, lang)
    for line in errors + warnings:
        print(line, file=sys.stderr)
    return bool(errors)


async def _run(args: argparse.Namespace) -> int:
    from bot import bot_name
    from bot.app import build_app
    from bot.startup_db import probe_database, probe_sqlite

    config = load_config(args.config)
    if args.command == "run" and _refused_by_review(config, args.lang):
        return 1
    probe_sqlite(config, args.lang, write=args.command in ("run", "db"))
    app = build_app(config)
    try:
        await probe_database(app, args.lang)
        if args.command == "db":
            return await _db_upgrade(app, args)
        await _require_schema(app)
        if (args.command, getattr(args, "ticket_command", None)) in LINK_COMMANDS:
            await bot_name.for_links(app, args.lang)
        return await args.handler(app, args)
    finally:
        await app.close()


async def _require_schema(app) -> None:  # noqa: ANN001
    from models.schema_version import current_revision, head_revision  # not Alembic: ~11 MB for good

    if await current_revision(app.db) != head_revision():
        raise UsageError(key="cli.start.schema_old")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = cli_lang.language(argv)
    with cli_lang.speaking(lang):
        parser = build_parser(lang)
        args = parser.parse_args(argv)
    args.lang = args.lang or lang
    if args.command is None:  # `fieldbot` alone (or with options only): what it is and how to start
        print(cli_lang.overview(parser, args.lang))
        return 0
    if args.command == "check-config":
        return _check_config(args)
    if getattr(args, "standalone", None):  # needs no config or database (emulator, demo)
        return args.standalone(args)
    return _main(args)


def _error(lang: str, message: str) -> None:
    print(t(lang, "cli.args.error", prog="fieldbot", message=message), file=sys.stderr)


def _main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except StartupError as exc:
        print(exc.line, file=sys.stderr)
        return 1
    except UsageError as exc:
        _error(args.lang, exc.text(args.lang))
        return 2
    except DomainError as exc:
        _error(args.lang, error_text(args.lang, exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
