"""Plain-text fallback for channels (or clients) without buttons.

Each button becomes a tappable pseudo-command, e.g. ``Accept: /_accept_12``; when the person sends
``/_accept_12`` the core treats it exactly like the button press ``accept:12``.  No state is needed
to map it back, so it survives restarts and works on any instance.
"""

from __future__ import annotations

import re

from bot.channels.types import Outbound

_DATA = re.compile(r"^[a-z0-9:]{1,60}$")


def command_for(data: str) -> str:
    if not _DATA.match(data) or "_" in data:
        raise ValueError(f"button data not representable as text: {data!r}")
    return "/_" + data.replace(":", "_")


def data_from_command(command: str) -> str | None:
    """``_accept_12`` (a command without its slash) → ``accept:12``; None if not a button command."""
    if not command.startswith("_") or len(command) < 2:
        return None
    return command[1:].replace("_", ":")


def render_text(message: Outbound) -> str:
    """The message text with its buttons spelled out as commands, one per line."""
    lines = [message.text] if message.text else []
    for row in message.buttons:
        for button in row:
            lines.append(f"{button.label}: {command_for(button.data)}")
    return "\n".join(lines)
