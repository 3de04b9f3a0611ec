"""Template cards: the checks on send, response codes, and message/update_template_card (§3.2-§3.3).

Why per member: WeCom's inline buttons are ``button_interaction`` cards. A click yields a fresh,
single-use ``ResponseCode`` (72 h) for that member; an update (by code, or the passive
``update_button`` reply) changes the card only for the members it names. Each member therefore has
a :class:`~.state.CardView` of their own, and ``card_state(task_id, userid)`` shows it.

Codes used (d90313): 42014 task_id invalid (and, ⚠ unverified, reused), 42031 card_type, 42033
title, 42035/42027 horizontal_content_list, 42038 button text, 42039 button key (missing, over 1024
bytes, duplicate), 42028 url, 42045 card_action, 42037/42040/42041/42043 button_selection,
42046 submit_button, 42051 action_menu key conflict, 60140 response_code unknown/used/past 72 h,
81012 update without any target. More than 6 buttons is 40058 (⚠ the real code is not documented).
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from .errors import WeComError, ok
from .state import CardView, ResponseCode, random_id
from .wire import Call, Route, get_int, get_list, get_str, utf8_len

if TYPE_CHECKING:
    from .server import WeComEmulator

CARD_TYPES = ("text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction")
INTERACTIVE = ("button_interaction", "vote_interaction", "multiple_interaction")
TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
CODE_TTL = 72 * 3600
MAX_BUTTONS = 6


def validate_card(emu: WeComEmulator, card: dict[str, Any], *, update: bool = False) -> tuple[str, str | None]:
    """Check a template_card; returns ``(card_type, task_id)``. Raises WeComError like WeCom."""
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise WeComError(42031, f"card_type {card_type!r}")
    menu_keys = [a.get("key") for a in get_list(get_obj_or_empty(card, "action_menu"), "action_list")
                 if isinstance(a, dict)]
    if len(menu_keys) != len(set(menu_keys)):
        raise WeComError(42051)
    task_id = card.get("task_id")
    if card_type in INTERACTIVE or menu_keys:
        if not isinstance(task_id, str) or not TASK_ID_RE.match(task_id):
            raise WeComError(42014, "task_id: 1-128 bytes of digits, letters and _-@")
    elif task_id is not None and (not isinstance(task_id, str) or not TASK_ID_RE.match(task_id)):
        raise WeComError(42014)
    if card_type in ("text_notice", "news_notice"):
        action = card.get("card_action")
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in (1, 2) or not action.get("url" if kind == 1 else "appid"):
            raise WeComError(42045, "card_action: type 1 with url or type 2 with appid")
    if card_type not in ("vote_interaction", "multiple_interaction"):
        title = card.get("main_title")
        if not isinstance(title, dict) or not (title.get("title") or title.get("desc")):
            if card_type != "text_notice" or not card.get("sub_title_text"):
                raise WeComError(42033, "main_title.title or main_title.desc is required")
    rows = get_list(card, "horizontal_content_list")
    if len(rows) > 6:
        raise WeComError(42035)
    for row in rows:
        if not isinstance(row, dict) or not row.get("keyname"):
            raise WeComError(42027)
    if card_type == "button_interaction":
        _check_buttons(emu, card, update=update)
    if card_type in ("vote_interaction", "multiple_interaction"):
        submit = get_obj_or_empty(card, "submit_button")
        if not submit.get("key"):
            raise WeComError(42046)
    return card_type, task_id


def get_obj_or_empty(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _check_buttons(emu: WeComEmulator, card: dict[str, Any], *, update: bool) -> None:
    buttons = get_list(card, "button_list", required=not update, where="template_card.")
    if not update and not buttons:
        raise WeComError(42038, "button_list is empty")
    if len(buttons) > MAX_BUTTONS:
        raise WeComError(40058, f"button_list has {len(buttons)} buttons; at most {MAX_BUTTONS}")
    keys: set[str] = set()
    for button in buttons:
        if not isinstance(button, dict):
            raise WeComError(40058, "button_list items must be objects")
        text = button.get("text")
        if not isinstance(text, str) or not text:
            raise WeComError(42038)
        if len(text) > 10:
            emu.world.violation("button_text_long", f"button text {text!r} is over 10 characters; the client cuts it")
        style = button.get("style", 1)
        if isinstance(style, bool) or style not in (1, 2, 3, 4):
            raise WeComError(40058, "button style must be 1-4")
        kind = button.get("type", 0)
        if kind == 1:
            if not button.get("url"):
                raise WeComError(42028, "a type-1 button needs url")
            continue
        if kind != 0:
            raise WeComError(40058, "button type must be 0 or 1")
        key = button.get("key")
        if not isinstance(key, str) or not key or utf8_len(key) > 1024 or key in keys:
            raise WeComError(42039, f"key {key!r} missing, over 1024 bytes or not unique")
        keys.add(key)
    selection = card.get("button_selection")
    if selection is not None:
        if not isinstance(selection, dict) or not selection.get("question_key"):
            raise WeComError(42043)
        options = get_list(selection, "option_list")
        if not 1 <= len(options) <= 10:
            raise WeComError(42037)
        for option in options:
            if not isinstance(option, dict) or not option.get("id"):
                raise WeComError(42040)
            if not option.get("text"):
                raise WeComError(42041)


def claim_task_id(emu: WeComEmulator, task_id: str) -> None:
    if task_id in emu.world.task_ids:
        raise WeComError(42014, f"task_id {task_id!r} was already used by this app (⚠ real code unverified)")


def needs_response_code(card: dict[str, Any]) -> bool:
    return card.get("card_type") in INTERACTIVE or bool(get_obj_or_empty(card, "action_menu"))


def issue_code(emu: WeComEmulator, task_id: str, origin: str, userid: str | None = None) -> str:
    code = random_id(64)
    emu.world.codes[code] = ResponseCode(code, task_id, emu.world.now(), origin, userid)
    return code


def open_views(emu: WeComEmulator, msgid: str, task_id: str, card: dict[str, Any], userids: list[str]) -> None:
    emu.world.task_ids[task_id] = msgid
    for userid in userids:
        emu.world.cards[(task_id, userid)] = CardView(task_id, userid, msgid, copy.deepcopy(card))


def apply_replace_name(view: CardView, name: str, at: float) -> None:
    """What ``button.replace_name`` and a passive ``update_button`` do: one grey, unclickable button."""
    view.disabled = True
    view.replace_name = name
    view.updated_at = at


def clickable_keys(view: CardView) -> list[str]:
    if view.disabled:
        return []
    return [b["key"] for b in view.card.get("button_list", []) if isinstance(b, dict) and b.get("type", 0) == 0]


def update_template_card(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    body, world = call.body, emu.world
    agentid = get_int(body, "agentid", missing=41011)
    if agentid != world.agent_id:
        raise WeComError(40056)
    code = get_str(body, "response_code", missing=40058)
    entry = world.codes.get(code)
    if entry is None or entry.used_at is not None or world.now() - entry.issued_at > CODE_TTL:
        raise WeComError(60140)
    recipients = sorted(u for (task, u) in world.cards if task == entry.task_id)
    userids = [str(u).lower() for u in get_list(body, "userids")]
    parties = {str(p) for p in get_list(body, "partyids")}
    tags = {str(t) for t in get_list(body, "tagids")}
    if body.get("atall") == 1:
        targets = list(recipients)
    else:
        if not (userids or parties or tags):
            raise WeComError(81012)
        targets = [u for u in recipients if u in userids or
                   {str(d) for d in world.members[u].departments} & parties or
                   {str(t) for t in world.members[u].tags} & tags]
    invalid = [u for u in userids if u not in recipients]
    if not targets:
        raise WeComError(81013)
    button, card = body.get("button"), body.get("template_card")
    if isinstance(button, dict) and button.get("replace_name"):
        change = ("button", str(button["replace_name"]))
    elif isinstance(card, dict):
        _, task_id = validate_card(emu, card, update=True)
        if task_id is not None and task_id != entry.task_id:
            raise WeComError(42016, f"task_id {task_id!r} is not the card of this response_code")
        change = ("card", card)
    else:
        raise WeComError(40058, "button.replace_name or template_card is required")
    entry.used_at = world.now()
    for userid in targets:
        view = world.cards[(entry.task_id, userid)]
        if change[0] == "button":
            apply_replace_name(view, change[1], world.now())
            continue
        view.card = copy.deepcopy(change[1])
        view.card.setdefault("task_id", entry.task_id)
        view.updated_at = world.now()
        replace_text = change[1].get("replace_text")
        view.disabled, view.replace_name = (True, replace_text) if replace_text else (False, None)
    world.changed.notify()
    return ok(invaliduser="|".join(invalid), invalidparty="", invalidtag="", unlicenseduser="")


def card_state(emu: WeComEmulator, task_id: str, userid: str) -> dict[str, Any]:
    view = emu.world.cards.get((task_id, userid.lower()))
    if view is None:
        raise LookupError(f"no card {task_id!r} was sent to {userid!r}")
    sent = emu.world.sent.get(view.msgid)
    buttons = [{"key": b.get("key"), "text": view.replace_name if view.disabled else b.get("text"),
                "style": b.get("style", 1), "type": b.get("type", 0), "disabled": view.disabled}
               for b in view.card.get("button_list", []) if isinstance(b, dict)]
    if view.disabled:  # WeCom shows one grey button with the replacement name
        buttons = [{"key": None, "text": view.replace_name, "style": 1, "type": 0, "disabled": True}]
    return {"task_id": task_id, "userid": view.userid, "msgid": view.msgid,
            "card_type": view.card.get("card_type"), "card": copy.deepcopy(view.card),
            "buttons": buttons, "disabled": view.disabled, "replace_name": view.replace_name,
            "clickable_keys": clickable_keys(view), "clicks": copy.deepcopy(view.clicks),
            "updated_at": view.updated_at, "recalled": bool(sent and sent.recalled)}


ROUTES = {"message/update_template_card": Route("POST", update_template_card, kinds=("app",))}
