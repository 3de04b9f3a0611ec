"""微信客服 (kf) API, the server side (PROTOCOL.md §6.2): links, sync_msg, send_msg, states.

Why these rules: customers are reached only through kf, and only **within 48 h of the customer's
last message and at most 5 messages per customer message** (95002 / 95001), only while the session
is untreated (0) or with the bot (1) (95018 when queued or with a human; 95013 once ended). The
adapter learns of customer messages only by a ``kf_msg_or_event`` callback carrying a Token (10
min), then pulls with ``sync_msg`` (cursor, ``has_more`` paging; messages sent through the API are
not returned).

Codes: 95000 open_kfid invalid, 40096 unknown external_userid, 95007 msg token invalid, expired or
of another account, 95008 msgmenu over 10 items, 95009 unknown msgmenu item type, 95016 state
transition not allowed, 95014 servicer is not a member, 44004 empty text, 40007 media, 40058 other
parameters. send_msg_on_event: an unknown code 40058, a used one 42022, an expired one 42003
(⚠ the codes for these three are not documented for kf; they are the global ones for codes).
"""

from __future__ import annotations

import base64
import copy
import re
from typing import TYPE_CHECKING, Any

from .errors import WeComError, ok
from .media import find as find_media
from .state import KfCode, KfCustomer, random_id
from .wire import Call, Route, cut_utf8, get_int, get_list, get_obj, get_str, utf8_len

if TYPE_CHECKING:
    from .server import WeComEmulator

WINDOW = 48 * 3600
WINDOW_MESSAGES = 5
MSG_TOKEN_TTL = 600
EVENT_CODE_TTL = 20
SCENE_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
MSGID_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
KF_TYPES = ("text", "image", "voice", "video", "file", "link", "miniprogram", "msgmenu", "location")
# from-state -> states it may move to (service_state/trans)
TRANSITIONS = {0: {1, 2, 3, 4}, 1: {2, 3, 4}, 2: {3, 4}, 3: {3, 4}, 4: set()}


def account(emu: WeComEmulator, open_kfid: Any) -> str:
    if not isinstance(open_kfid, str) or open_kfid not in emu.world.kf_accounts:
        raise WeComError(95000)
    return open_kfid


def customer(emu: WeComEmulator, external_userid: Any) -> KfCustomer:
    found = emu.world.customers.get(external_userid) if isinstance(external_userid, str) else None
    if found is None:
        raise WeComError(40096)
    return found


def add_contact_way(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    open_kfid = account(emu, call.body.get("open_kfid"))
    scene = call.body.get("scene", "")
    if scene and (not isinstance(scene, str) or not SCENE_RE.match(scene)):
        raise WeComError(40058, "scene: at most 32 bytes of [0-9a-zA-Z_-]")
    enc = "ENC" + random_id(40)
    emu.world.contact_ways[enc] = (open_kfid, scene or "")
    return ok(url=f"{emu.base_url}/kf/kfc{random_id(24)}?enc_scene={enc}")


def list_accounts(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    return ok(account_list=[{"open_kfid": k, "name": n, "avatar": ""} for k, n in emu.world.kf_accounts.items()])


def sync_msg(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    body, world = call.body, emu.world
    open_kfid = account(emu, body.get("open_kfid"))
    token = body.get("token")
    if token:
        entry = world.kf_tokens.get(token)
        if entry is None or entry[0] != open_kfid or entry[1] <= world.now():
            raise WeComError(95007)
    else:
        world.count("kf_sync_without_token")  # allowed, but "接口有严格的频率限制"
    limit = get_int(body, "limit", required=False, default=1000)
    if not 1 <= limit <= 1000:
        raise WeComError(40058, "limit must be 1..1000")
    stream = world.kf_stream.get(open_kfid, [])
    start = _cursor(body.get("cursor"), stream, world.now())
    if emu.kf_empty_pages > 0 and start < len(stream):
        emu.kf_empty_pages -= 1  # "msg_list may be empty while has_more is 1"
        return ok(next_cursor=_encode(start), has_more=1, msg_list=[])
    page = stream[start:start + limit]
    end = start + len(page)
    return ok(next_cursor=_encode(end), has_more=int(end < len(stream)), msg_list=copy.deepcopy(page))


def _encode(position: int) -> str:
    return base64.urlsafe_b64encode(f"c{position}".encode()).decode().rstrip("=")


def _cursor(cursor: Any, stream: list[dict[str, Any]], now: float) -> int:
    if not cursor:  # "若不填，从3天内最早的消息开始返回"
        return next((i for i, m in enumerate(stream) if m["send_time"] >= now - 3 * 24 * 3600), len(stream))
    try:
        text = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode()
        position = int(text[1:]) if text.startswith("c") else -1
    except (ValueError, UnicodeDecodeError):
        position = -1
    if not 0 <= position <= len(stream):
        raise WeComError(40058, "invalid cursor")
    return position


def check_content(emu: WeComEmulator, body: dict[str, Any], msgtype: Any, types: tuple[str, ...]) -> dict[str, Any]:
    """Validate a kf message body of ``msgtype``; returns the (possibly truncated) object."""
    if msgtype not in types:
        raise WeComError(40008, f"msgtype {msgtype!r}")
    payload = copy.deepcopy(get_obj(body, msgtype))
    if msgtype == "text":
        content = get_str(payload, "content", missing=44004, where="text.")
        if utf8_len(content) > 2048:
            payload["content"] = cut_utf8(content, 2048)
            emu.world.violation("text_truncated", f"kf text of {utf8_len(content)} bytes cut to 2048")
    elif msgtype in ("image", "voice", "video", "file"):
        find_media(emu, get_str(payload, "media_id", missing=41006, where=f"{msgtype}."))
    elif msgtype == "msgmenu":
        _check_msgmenu(payload)
    elif msgtype == "link":
        get_str(payload, "title", missing=41016, where="link.")
        get_str(payload, "url", missing=41010, where="link.", max_bytes=2048)
    return payload


def _check_msgmenu(menu: dict[str, Any]) -> None:
    for key in ("head_content", "tail_content"):
        get_str(menu, key, required=False, max_bytes=1024, where="msgmenu.")
    items = get_list(menu, "list", where="msgmenu.")
    if len(items) > 10:
        raise WeComError(95008)
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in ("click", "view", "miniprogram", "text"):
            raise WeComError(95009)
        inner = get_obj(item, kind, where="msgmenu.list.")
        if kind == "click":
            if not isinstance(inner.get("id"), str) or not 1 <= utf8_len(inner["id"]) <= 64:
                raise WeComError(40058, "msgmenu click id must be 1-64 bytes")
        if kind in ("click", "view", "miniprogram"):
            get_str(inner, "content", max_bytes=128, where=f"msgmenu.{kind}.")
        if kind == "view":
            get_str(inner, "url", max_bytes=2048, where="msgmenu.view.")


def send_msg(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    body, world = call.body, emu.world
    open_kfid = account(emu, body.get("open_kfid"))
    person = customer(emu, body.get("touser"))
    if person.open_kfid != open_kfid:
        raise WeComError(40096, "this customer has no session with that open_kfid")
    msgid = _msgid(body)
    payload = check_content(emu, body, body.get("msgtype"), KF_TYPES)
    if person.state in (2, 3):
        raise WeComError(95018, f"session state is {person.state}")
    if person.state == 4:
        raise WeComError(95013)
    last = person.last_customer_msg_at
    if last is None or world.now() - last > WINDOW:
        raise WeComError(95002)
    if person.sends_since >= WINDOW_MESSAGES:
        raise WeComError(95001)
    if msgid in world.kf_msgids:  # ⚠ undocumented: treated as an idempotent repeat
        world.dropped.append({"external_userid": person.external_userid, "msgid": msgid,
                              "reason": "kf_duplicate_msgid", "at": world.now()})
        return ok(msgid=msgid)
    person.sends_since += 1
    deliver(emu, person, open_kfid, msgid, body["msgtype"], payload, "send_msg")
    return ok(msgid=msgid)


def _msgid(body: dict[str, Any]) -> str:
    msgid = body.get("msgid")
    if msgid is None or msgid == "":
        return random_id(32)
    if not isinstance(msgid, str) or not MSGID_RE.match(msgid):
        raise WeComError(40058, "msgid: at most 32 bytes of [0-9a-zA-Z_-]")
    return msgid


def deliver(emu: WeComEmulator, person: KfCustomer, open_kfid: str, msgid: str, msgtype: str,
            payload: dict[str, Any], via: str) -> None:
    world = emu.world
    world.kf_msgids.add(msgid)
    world.kf_outbox.setdefault(person.external_userid, []).append(
        {"msgid": msgid, "open_kfid": open_kfid, "msgtype": msgtype, msgtype: payload, "at": world.now(), "via": via})
    world.changed.notify()


def send_msg_on_event(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    body, world = call.body, emu.world
    code = world.kf_codes.get(body.get("code") or "")
    if code is None:
        raise WeComError(40058, "invalid code")
    if code.used:
        raise WeComError(42022)
    if code.expires_at <= world.now():
        raise WeComError(42003)
    msgid = _msgid(body)
    payload = check_content(emu, body, body.get("msgtype"), ("text", "msgmenu"))
    code.used = True
    person = world.customers[code.external_userid]
    person.last_welcome_at = world.now()
    deliver(emu, person, code.open_kfid, msgid, body["msgtype"], payload, "send_msg_on_event")
    return ok(msgid=msgid)


def issue_event_code(emu: WeComEmulator, open_kfid: str, person: KfCustomer) -> str:
    code = random_id(43)
    emu.world.kf_codes[code] = KfCode(code, open_kfid, person.external_userid, emu.world.now() + EVENT_CODE_TTL)
    return code


def state_get(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    account(emu, call.body.get("open_kfid"))
    person = customer(emu, call.body.get("external_userid"))
    return ok(service_state=person.state, servicer_userid=person.servicer)


def state_trans(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    body = call.body
    open_kfid = account(emu, body.get("open_kfid"))
    person = customer(emu, body.get("external_userid"))
    target = get_int(body, "service_state")
    if target not in TRANSITIONS[person.state]:
        raise WeComError(95016, f"{person.state} -> {target}")
    servicer = body.get("servicer_userid") or ""
    if target in (2, 3):
        if not isinstance(servicer, str) or servicer.lower() not in emu.world.members:
            raise WeComError(95014)
    person.state, person.servicer = target, (servicer.lower() if target in (2, 3) else "")
    emu.world.changed.notify()
    result = ok()
    if target in (3, 4):  # "将会话置为结束或转入人工时返回" a msg_code for send_msg_on_event
        result["msg_code"] = issue_event_code(emu, open_kfid, person)
    return result


def batchget(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    ids = get_list(call.body, "external_userid_list", required=True)
    if not 1 <= len(ids) <= 100:
        raise WeComError(40058, "external_userid_list: 1-100 ids")
    found = [emu.world.customers[i] for i in ids if isinstance(i, str) and i in emu.world.customers]
    return ok(customer_list=[{"external_userid": c.external_userid, "nickname": c.nickname, "avatar": "",
                              "gender": 0, "unionid": ""} for c in found],
              invalid_external_userid=[i for i in ids if not isinstance(i, str) or i not in emu.world.customers])


ROUTES = {
    "kf/add_contact_way": Route("POST", add_contact_way),
    "kf/account/list": Route("POST", list_accounts),
    "kf/sync_msg": Route("POST", sync_msg),
    "kf/send_msg": Route("POST", send_msg),
    "kf/send_msg_on_event": Route("POST", send_msg_on_event),
    "kf/service_state/get": Route("POST", state_get),
    "kf/service_state/trans": Route("POST", state_trans),
    "kf/customer/batchget": Route("POST", batchget),
}
