"""``[faults]``: the fault types a team picks from — at registration (the symptom's category) and
at resolve (the confirmed cause) — and by which the monthly statistics count.

Shape::

    [faults]
    types = ["电源故障", "机械故障"]        # every team's list
    [[faults.teams]]
    name = "East"                          # a team (as named in `fieldbot invite --team`)…
    types = ["制冷故障", "电气故障"]        # …with its own list instead

"Other" (其他) is always offered after the list and is not written in it: it comes from the
message catalogs, in each person's language, and is stored as ``other``.  The names themselves
are data (shown as written, in every language), so each team writes them in its own language.

The default list is empty: then nothing asks for a fault type, and ``fieldbot ticket import``
takes the ``fault_type`` column as free text, as before.  A team whose own list is empty is not
asked either.
"""

from __future__ import annotations

from pydantic import field_validator
from pydantic_core import PydanticCustomError

from bot.config_types import Section
from handlers.fault_types import NAME_LIMIT, is_other

#: More than this many types would not fit as buttons (WeCom cards take six; a longer list is
#: turned into commands there), nor be read on a phone.
TYPES_LIMIT = 20


def _names(values: list[str]) -> list[str]:
    """Each name trimmed; empty, over-long, "other" and repeated (ignoring case) names refused."""
    if len(values) > TYPES_LIMIT:
        raise PydanticCustomError("faults", "at most {limit} fault types", {"limit": TYPES_LIMIT})
    seen: set[str] = set()
    names = []
    for value in values:
        name = value.strip()
        if not name:
            raise PydanticCustomError("faults", "an empty fault type name")
        if len(name) > NAME_LIMIT:
            raise PydanticCustomError("faults", '"{name}" is longer than {limit} characters',
                                      {"name": name, "limit": NAME_LIMIT})
        if is_other(name):
            raise PydanticCustomError("faults", '"{name}": "other" is always offered; leave it out of the list',
                                      {"name": name})
        if name.casefold() in seen:
            raise PydanticCustomError("faults", '"{name}" is listed twice', {"name": name})
        seen.add(name.casefold())
        names.append(name)
    return names


class TeamFaults(Section):
    """One team's own list (``[[faults.teams]]``), replacing ``faults.types`` for that team."""

    name: str
    types: list[str]

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("faults", "an empty team name")
        return value.strip()

    @field_validator("types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _names(value)


class FaultsSection(Section):
    types: list[str] = []
    teams: list[TeamFaults] = []

    @field_validator("types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _names(value)

    @field_validator("teams")
    @classmethod
    def _teams_once(cls, value: list[TeamFaults]) -> list[TeamFaults]:
        seen: set[str] = set()
        for team in value:
            if team.name.casefold() in seen:
                raise PydanticCustomError("faults", 'team "{name}" is listed twice', {"name": team.name})
            seen.add(team.name.casefold())
        return value

    def for_team(self, team: str | None) -> list[str]:
        """The fault types offered to ``team`` (a team name; None: no team — the common list)."""
        if team:
            for own in self.teams:
                if own.name.casefold() == team.strip().casefold():
                    return list(own.types)
        return list(self.types)
