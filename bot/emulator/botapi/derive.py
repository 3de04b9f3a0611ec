"""Derive the shipped ``api.json`` from the full Bot API description.

Why: the full description (~900 KB) is mostly documentation prose. The emulator only needs
names, links, return types and each field's name, types and whether it is required, so the
copy inside the package keeps exactly that and drops every ``description``. Output is compact
JSON with sorted keys, so a re-derivation after a new Bot API release gives a stable diff.

    python -m bot.emulator.botapi.derive SRC DEST
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TOP_LEVEL_KEYS = ("version", "release_date", "changelog")
METHOD_KEYS = ("name", "href", "returns", "fields")
TYPE_KEYS = ("name", "href", "fields", "subtypes", "subtype_of")
FIELD_KEYS = ("name", "types", "required")


def derive(full: dict[str, Any]) -> dict[str, Any]:
    """The kept part of a full ``api.json``: see the module doc; keys absent upstream stay absent."""
    out: dict[str, Any] = {key: full[key] for key in TOP_LEVEL_KEYS if key in full}
    out["methods"] = {name: _entry(method, METHOD_KEYS) for name, method in full.get("methods", {}).items()}
    out["types"] = {name: _entry(type_, TYPE_KEYS) for name, type_ in full.get("types", {}).items()}
    return out


def _entry(source: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    entry = {key: source[key] for key in keys if key in source}
    if "fields" in entry:
        entry["fields"] = [{key: field[key] for key in FIELD_KEYS if key in field} for field in entry["fields"]]
    return entry


def dumps(spec: dict[str, Any]) -> str:
    """Compact, key-sorted JSON with a final newline."""
    return json.dumps(spec, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bot.emulator.botapi.derive SRC DEST", file=sys.stderr)
        return 2
    source, dest = Path(args[0]), Path(args[1])
    text = dumps(derive(json.loads(source.read_text(encoding="utf-8"))))
    dest.write_text(text, encoding="utf-8")
    print(f"{source} ({source.stat().st_size} bytes) -> {dest} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
