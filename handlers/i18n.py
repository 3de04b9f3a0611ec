"""Message catalogs: every user-facing text, in zh-CN and en, looked up by key.

Catalogs are TOML files in ``handlers/locales/<language>/*.toml`` (one file per area, keys with
dots, ``{name}`` placeholders), so a translator edits text without touching code.  The files of a
language are merged; a key defined twice is an error.  A missing key in one language falls back to the
other rather than crashing a conversation; a test keeps both catalogs' keys and placeholders equal.

Plurals: a text that says how many has two forms, ``KEY.one`` and ``KEY.other``; ``t(lang, KEY,
count=n)`` picks ``one`` for 1 and ``other`` for anything else.  Chinese has no plural and writes
``KEY.other`` alone.  The words of the catalogs are kept in ``locales/glossary.toml``.
"""

from __future__ import annotations

import string
import tomllib
import unicodedata
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.errors import DomainError

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
#: What a person typed is put back into a reply ("Unknown command /…", "No ticket …") cut to this
#: many characters: enough to recognise it, never a wall of text echoed back.
PREVIEW_LIMIT = 40
#: Parameters that name one of our own enum values and are translated, not echoed.
_TRANSLATED = ("status", "action", "field", "service", "role", "invited")
#: Direction overrides and marks: invisible, and able to turn the rest of the line around.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZWJ = "\u200d"


def normalise_language(code: str | None, default: str = DEFAULT) -> str:
    """Map what a chat app reports (``zh``, ``zh-hans``, ``en-US``…) onto a catalog we have."""
    if not code:
        return default
    low = code.lower()
    if low.startswith("zh"):
        return "zh-CN"
    if low.startswith("en"):
        return "en"
    return default


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = str(value)
    return out


@lru_cache(maxsize=None)
def catalog(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALES / language).glob("*.toml")):
        with open(path, "rb") as fh:
            entries = _flatten(tomllib.load(fh))
        clash = merged.keys() & entries.keys()
        if clash:
            raise ValueError(f"{path}: keys already defined elsewhere: {sorted(clash)}")
        merged.update(entries)
    return merged


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _lookup(entries: dict[str, str], key: str, count: Any) -> str | None:
    """``key`` itself, or its plural form for ``count`` (``.one`` for 1 where the language has it)."""
    text = entries.get(key)
    if text is None and f"{key}.other" in entries:
        text = entries.get(f"{key}.one") if count == 1 else None
        text = text if text is not None else entries[f"{key}.other"]
    return text


def t(language: str | None, key: str, **params: Any) -> str:
    """The text for ``key`` in ``language``, with ``params`` filled in (a plural key's form chosen
    by ``params["count"]``)."""
    lang = normalise_language(language)
    count = params.get("count")
    text = _lookup(catalog(lang), key, count)
    if text is None:
        other = "en" if lang != "en" else DEFAULT
        text = _lookup(catalog(other), key, count) or key
    return text.format_map(_Keep(params))


def _one_line(text: str) -> str:
    """Line breaks, control characters and direction overrides become spaces (a lone surrogate,
    which no chat API accepts, becomes U+FFFD); runs of whitespace become one space."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp") or ch in _BIDI:
            out.append(" ")
        elif category == "Cs":
            out.append("\ufffd")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _attaches(ch: str) -> bool:
    """True for a character that belongs to the one before it (an accent, a joiner, an emoji's
    variation selector, skin tone or tag): a cut must not fall just before it."""
    code = ord(ch)
    return (unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch == _ZWJ or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F or 0xE0100 <= code <= 0xE01EF)


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF  # flags are pairs of these


def preview(text: object, limit: int = PREVIEW_LIMIT) -> str:
    """What a person typed, made safe to echo: one line of at most ``limit`` characters, cut
    between characters as people see them (never inside an accented letter, an emoji sequence or
    a flag) and ending in "…" when cut."""
    flat = _one_line("" if text is None else str(text))
    if len(flat) <= limit:
        return flat
    cut = max(limit - 1, 0)
    while cut > 0 and (_attaches(flat[cut]) or flat[cut - 1] == _ZWJ):
        cut -= 1
    if cut > 0 and _regional(flat[cut - 1]):
        run = 0
        while run < cut and _regional(flat[cut - 1 - run]):
            run += 1
        if run % 2:  # the cut would split a flag: keep whole pairs only
            cut -= 1
    return flat[:cut].rstrip() + "…"


def error_text(language: str | None, error: DomainError, tz: tzinfo | None = None) -> str:
    """Render a domain error; enum-like parameters (status, action, field) are translated too.

    Every other text parameter is cut with :func:`preview`: most are what the person typed (an
    unknown command, a ticket number that does not exist), and the rest are ours and short.  A
    moment (a datetime) is shown with its zone: in ``tz`` (the team's), else in UTC — said so.
    """
    from handlers.times import labelled

    params = {}
    for name, value in error.params.items():
        if name in _TRANSLATED:
            value = t(language, f"{name if name != 'invited' else 'role'}.{value}")
        elif isinstance(value, datetime):
            value = labelled(normalise_language(language), value, tz or timezone.utc)
        elif isinstance(value, (list, tuple)):  # choices: "a, b" / "a、b"
            value = t(language, "list.sep").join(preview(item) for item in value)
        elif isinstance(value, str):
            value = preview(value)
        params[name] = value
    return t(language, f"error.{error.code}", **params)
