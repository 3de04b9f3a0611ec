"""The command line's one language per run, and argparse speaking it.

Which language: ``--lang`` (anywhere on the line: before or after the command), else the config
file's ``bot.language`` when there is a config file, else the system's (``LC_ALL``,
``LC_MESSAGES``, ``LANG``: ``zh…`` is Chinese; anything else, and the C locale, English — as
gettext falls back to the untranslated English text).  ``--lang`` takes ``zh``, ``zh-CN``,
``zh_CN``, ``cn`` and ``en`` in any case.

argparse's own words (usage, headings, its error messages) go through :func:`speaking`, which
gives the ``argparse`` module the catalog's translations for as long as the parser is built and
used: argparse looks its messages up with ``gettext`` at the moment it writes them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

from handlers.i18n import t

#: argparse's English messages (Python 3.11–3.13) → catalog keys.
_ARGPARSE = {
    "usage: ": "usage", "options": "options", "positional arguments": "positional",
    "show this help message and exit": "help",
    "the following arguments are required: %s": "required", "unrecognized arguments: %s": "unrecognized",
    "argument %(argument_name)s: %(message)s": "argument",
    "invalid choice: %(value)r (choose from %(choices)s)": "invalid_choice",
    "expected one argument": "expected_one", "expected at most one argument": "expected_at_most_one",
    "expected at least one argument": "expected_at_least_one",
    "invalid %(type)s value: %(value)r": "invalid_value", "one of the arguments %s is required": "one_of_required",
    "not allowed with argument %s": "not_allowed_with",
    "ambiguous option: %(option)s could match %(matches)s": "ambiguous",
    "ignored explicit argument %r": "ignored_explicit",
}
_ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "zh_cn": "zh-CN", "cn": "zh-CN", "zh-hans": "zh-CN", "en": "en"}


def parse_language(value: str) -> str | None:
    """``zh``/``zh-CN``/``zh_CN``/``cn``/``en`` (any case) → ``zh-CN`` or ``en``; None otherwise."""
    return _ALIASES.get(value.strip().lower())


def system_language(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    locale = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "")
    return "zh-CN" if locale.lower().startswith("zh") else "en"


def _option(argv: Sequence[str], name: str) -> str | None:
    """The last ``--name VALUE`` / ``--name=VALUE`` on the line (argparse keeps the last too)."""
    found = None
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word == name and i + 1 < len(argv):
            found = argv[i + 1]
        elif word.startswith(name + "="):
            found = word.split("=", 1)[1]
    return found


def language(argv: Sequence[str], environ: dict[str, str] | None = None) -> str:
    """The run's language, before argparse has read the line (its messages need it)."""
    given = _option(argv, "--lang")
    if given and parse_language(given):
        return parse_language(given)  # type: ignore[return-value]
    from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config

    env = dict(os.environ if environ is None else environ)
    path = _option(argv, "--config")
    if path or env.get("FIELDBOT_CONFIG") or DEFAULT_CONFIG_PATH.exists():
        try:
            return load_config(path, environ=env).bot.language
        except (ConfigError, OSError, ValueError):
            pass  # check-config and the command say what is wrong with it
    return system_language(env)


def lang_type(lang: str) -> Any:  # noqa: ANN401
    """``type=`` for ``--lang``: the catalog's language, or argparse's one-line error."""
    def convert(value: str) -> str:
        found = parse_language(value)
        if found is None:
            raise argparse.ArgumentTypeError(t(lang, "cli.args.lang_bad", value=value))
        return found

    convert.__name__ = "language"
    return convert


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """argparse's messages in ``lang`` while the block runs (parser built, line parsed, help shown)."""
    def gettext(message: str) -> str:
        key = _ARGPARSE.get(message)
        return t(lang, f"cli.args.{key}") if key else message

    def ngettext(singular: str, plural: str, n: int) -> str:
        if singular == "expected %s argument":
            return t(lang, "cli.args.expected_n", count=n)
        return singular if n == 1 else plural

    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = gettext, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def translate_commands(parser: argparse.ArgumentParser, lang: str) -> None:
    """The commands' one-line help (``fieldbot --help``, the overview) from the catalog."""
    for choice in commands(parser)._choices_actions:
        key = f"cli.commands.{choice.dest}"
        text = t(lang, key)
        if text != key:
            choice.help = text
            sub = commands(parser).choices.get(choice.dest)
            if sub is not None and sub.description is None:
                sub.description = text


def overview(parser: argparse.ArgumentParser, lang: str) -> str:
    """What ``fieldbot`` alone prints: what it is, the two ways in, every command, the options."""
    rows = [(choice.dest, choice.help or "") for choice in commands(parser)._choices_actions]
    width = max(len(name) for name, _ in rows) + 2
    lines = [t(lang, "cli.overview.intro"), "", t(lang, "cli.overview.try"), t(lang, "cli.overview.run"), "",
             t(lang, "cli.overview.commands")]
    lines += [f"  {name.ljust(width)}{text}" for name, text in rows]
    lines += ["", t(lang, "cli.overview.options"), t(lang, "cli.overview.more")]
    return "\n".join(lines)
