"""Text that lines up where Chinese is shown in a fixed-width grid: a terminal's columns, a
spreadsheet's column widths.  East Asian wide and full-width characters (汉字, full-width
punctuation) take two columns, everything else one (``unicodedata.east_asian_width``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

#: The widest a spreadsheet column is made, in characters (a long fault text wraps rather than
#: pushing every other column off the screen).
XLSX_MAX = 60


def display_width(text: object) -> int:
    """Terminal columns ``text`` takes: 汉字 two, Latin letters and digits one."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns (``str.ljust`` counts characters)."""
    return text + " " * max(0, width - display_width(text))


def table(rows: Sequence[Sequence[str]], gap: str = "  ") -> list[str]:
    """Rows as lines with every column lined up by display width; the last column is not padded
    (no trailing spaces)."""
    if not rows:
        return []
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [gap.join([*(pad(c, w) for c, w in zip(r, widths)), r[-1]]) for r in rows]


def fit_columns(sheet: Any, headers: Iterable[object] | None = None) -> None:
    """Set an openpyxl sheet's column widths from the display width of each column's header and
    values (two per 汉字), plus a margin, at most :data:`XLSX_MAX`."""
    heads = list(headers or [])
    for index, column in enumerate(sheet.columns):
        values = [c.value for c in column if c.value is not None]
        if index < len(heads):
            values.append(heads[index])
        width = max((display_width(v) for v in values), default=0)
        sheet.column_dimensions[column[0].column_letter].width = min(XLSX_MAX, width + 2)
