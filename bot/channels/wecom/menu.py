"""The self-built app's one menu (``menu/create`` at start; 3 buttons × 5 at most, PROTOCOL.md §5),
in the team's language: ``cmd:x`` keys are commands, the location picker and the camera send what
the check-in dialogs ask for."""

from __future__ import annotations

from typing import Any

from handlers.i18n import t


def app_menu(lang: str) -> dict[str, Any]:
    def click(key: str, command: str) -> dict[str, str]:
        return {"type": "click", "name": t(lang, key), "key": f"cmd:{command}"}

    return {"button": [
        click("wecom.menu.tickets", "tickets"),
        {"name": t(lang, "wecom.menu.site"), "sub_button": [
            {"type": "location_select", "name": t(lang, "wecom.menu.location"), "key": "loc"},
            {"type": "pic_sysphoto", "name": t(lang, "wecom.menu.photo"), "key": "photo"},
            click("wecom.menu.checkin", "checkin")]},
        {"name": t(lang, "wecom.menu.more"), "sub_button": [
            click("wecom.menu.board", "board"), click("wecom.menu.help", "help"),
            click("wecom.menu.cancel", "cancel")]},
    ]}
