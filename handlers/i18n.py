"""Message catalogs: every user-facing text, in zh-CN and en, looked up by key.

Catalogs are TOML files in ``handlers/locales/<language>/*.toml`` (one file per area, keys with
dots, ``{name}`` placeholders), so a translator edits text without touching code.  The files of a
language are merged; a key defined twice is an error.  A missing key in one language falls back to the
other rather than crashing a conversation; a test keeps both catalogs' keys and placeholders equal.
"""

from __future__ import annotations

import string
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.errors import DomainError

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"


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


def t(language: str | None, key: str, **params: Any) -> str:
    """The text for ``key`` in ``language``, with ``params`` filled in."""
    lang = normalise_language(language)
    text = catalog(lang).get(key)
    if text is None:
        other = "en" if lang != "en" else DEFAULT
        text = catalog(other).get(key, key)
    return text.format_map(_Keep(params))


def error_text(language: str | None, error: DomainError) -> str:
    """Render a domain error; enum-like parameters (status, action, field) are translated too."""
    params = dict(error.params)
    for name in ("status", "action", "field", "service", "role", "invited"):
        if name in params:
            params[name] = t(language, f"{name if name != 'invited' else 'role'}.{params[name]}")
    return t(language, f"error.{error.code}", **params)
