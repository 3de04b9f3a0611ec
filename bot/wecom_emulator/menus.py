"""menu/create, menu/get, menu/delete (PROTOCOL.md §5): the app's custom menu.

Why: the menu is the WeCom counterpart of Telegram's command list, and ``menu_click`` /
``menu_location_select`` on the device side only press buttons the bot actually created.

Rules (d90231, codes from d90313): 1-3 top-level buttons (40016), 1-5 sub-buttons (40023), no
third level (40022), known types (40017 / 40024), names ≤ 16 bytes on top (40018) and ≤ 40 bytes in
a sub-menu (40025), keys ≤ 128 bytes (40019 / 40026; required for every type but view and
view_miniprogram), view urls ≤ 1024 bytes (40020 / 40027). ``agentid`` goes in the query (41011
missing, 40056 wrong). menu/get without a menu: 46003.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import WeComError, ok
from .wire import Call, Route, utf8_len

if TYPE_CHECKING:
    from .server import WeComEmulator

TYPES = ("click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
         "pic_weixin", "location_select", "view_miniprogram")
#            count, type, name, key, url, name limit
TOP = dict(count=40016, type=40017, name=40018, key=40019, url=40020, name_bytes=16)
SUB = dict(count=40023, type=40024, name=40025, key=40026, url=40027, name_bytes=40)


def _agent(emu: WeComEmulator, call: Call) -> None:
    agentid = call.query.get("agentid")
    if not agentid:
        raise WeComError(41011)
    if agentid != str(emu.world.agent_id):
        raise WeComError(40056)


def _check_button(button: Any, codes: dict[str, int]) -> None:
    if not isinstance(button, dict):
        raise WeComError(codes["type"], "a button must be an object")
    name = button.get("name")
    if not isinstance(name, str) or not name or utf8_len(name) > codes["name_bytes"]:
        raise WeComError(codes["name"], f"name must be 1-{codes['name_bytes']} bytes")
    kind = button.get("type")
    if kind not in TYPES:
        raise WeComError(codes["type"], f"type {kind!r}")
    if kind == "view":
        url = button.get("url")
        if not isinstance(url, str) or not url or utf8_len(url) > 1024:
            raise WeComError(codes["url"], "url must be 1-1024 bytes")
    elif kind != "view_miniprogram":
        key = button.get("key")
        if not isinstance(key, str) or not key or utf8_len(key) > 128:
            raise WeComError(codes["key"], "key must be 1-128 bytes")


def create(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    _agent(emu, call)
    buttons = call.body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise WeComError(40016, "1-3 top-level buttons")
    for button in buttons:
        subs = button.get("sub_button") if isinstance(button, dict) else None
        if subs is None:
            _check_button(button, TOP)
            continue
        name = button.get("name")
        if not isinstance(name, str) or not name or utf8_len(name) > TOP["name_bytes"]:
            raise WeComError(40018, "name must be 1-16 bytes")
        if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            raise WeComError(40023, "1-5 sub-buttons")
        for sub in subs:
            if isinstance(sub, dict) and "sub_button" in sub:
                raise WeComError(40022)
            _check_button(sub, SUB)
    emu.world.menu = copy.deepcopy({"button": buttons})
    emu.world.changed.notify()
    return ok()


def get(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    _agent(emu, call)
    if emu.world.menu is None:
        raise WeComError(46003)
    return ok(**copy.deepcopy(emu.world.menu))


def delete(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    _agent(emu, call)
    emu.world.menu = None
    emu.world.changed.notify()
    return ok()


def menu_buttons(emu: WeComEmulator) -> list[dict[str, Any]]:
    """Every pressable button of the current menu, sub-buttons included."""
    out = []
    for button in (emu.world.menu or {}).get("button", []):
        out.extend(button.get("sub_button") or [button])
    return out


ROUTES = {
    "menu/create": Route("POST", create, kinds=("app",)),
    "menu/get": Route("GET", get, body=None, kinds=("app",)),
    "menu/delete": Route("GET", delete, body=None, kinds=("app",)),
}
