"""Fault types (``[faults]`` in the config): the list a team picks from, "other", and how a chosen
one is stored and shown.

A ticket keeps two: ``fault_type``, the symptom's category chosen at registration, and
``fault_cause``, the fault type the engineer confirmed at resolve (the statistics count by it,
else by the category).  Both hold a name from the team's list as written in the config, or
:data:`OTHER` — stored as that code, shown as the catalog's ``fault.other`` in the reader's
language, so "Other" and "其他" are one row in a report.

Whoever offers the list keeps it with the question (the dialog's data), so a button names an
entry by its place in the list that was shown, and a list edited meanwhile cannot turn a press
into another type.  A typed answer is taken when it is a list entry's exact name (case aside) or
the word for "other" in either language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from handlers.i18n import LANGUAGES, preview, t
from handlers.messages import L, Raw
from models.errors import DomainError
from models.people import Team

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

#: The stored value of "other" (always offered, after the list).
OTHER = "other"
#: Longest fault type name the config takes (a button label; the columns hold 120).
NAME_LIMIT = 40
#: The button value of "other" (list entries are numbered from 0).
OTHER_BUTTON = "o"


def is_other(text: str) -> bool:
    """Whether ``text`` is the word for "other" in any catalog (or the stored code)."""
    word = text.strip().casefold()
    return word == OTHER or any(word == t(lang, "fault.other").casefold() for lang in LANGUAGES)


def canonical(text: str, offered: list[str]) -> str | None:
    """The fault type a typed answer names: an entry of ``offered`` (exact name, case aside),
    :data:`OTHER`, or None."""
    if is_other(text):
        return OTHER
    word = text.strip().casefold()
    return next((name for name in offered if name.casefold() == word), None)


def from_button(value: str, offered: list[str]) -> str | None:
    """The fault type a button value (``o`` or an entry's index in ``offered``) names, or None."""
    if value == OTHER_BUTTON:
        return OTHER
    if value.isdigit() and int(value) < len(offered):
        return offered[int(value)]
    return None


def buttons(prefix: str, offered: list[str]) -> list[list[tuple[Any, str]]]:
    """The list as buttons ``PREFIX:INDEX``, two to a row, then **Other** ``PREFIX:o``."""
    entries = [(Raw(name), f"{prefix}:{i}") for i, name in enumerate(offered)]
    rows = [entries[i:i + 2] for i in range(0, len(entries), 2)]
    return rows + [[("fault.other", f"{prefix}:{OTHER_BUTTON}")]]


def fault_label(value: str) -> L | Raw:
    """A stored fault type as shown: "other" in the reader's language, a name as written."""
    return L("fault.other") if value == OTHER else Raw(value)


def fault_text(lang: str, value: str | None) -> str:
    """A stored fault type as plain text ("" when none)."""
    return "" if not value else t(lang, "fault.other") if value == OTHER else value


async def team_fault_types(session: AsyncSession, faults: Any, team_id: int | None) -> list[str]:  # noqa: ANN401
    """The list offered to the team ``team_id`` (``faults`` is the config's ``[faults]``)."""
    name = await session.scalar(select(Team.name).where(Team.id == team_id)) if team_id else None
    return faults.for_team(name)


def checked(value: str | None, offered: list[str]) -> str | None:
    """A fault type given on the command line or in an import: with a list, an entry or "other"
    (stored as :data:`OTHER`), else ``DomainError('bad_fault_type')``; without one, free text as
    before; empty means none."""
    text = (value or "").strip()
    if not text or not offered:
        return text or None
    found = canonical(text, offered)
    if found is None:
        raise DomainError("bad_fault_type", value=preview(text), choices=list(offered))
    return found
