"""message/send and message/recall (PROTOCOL.md §3.2, §3.4, §4).

What is checked, with WeCom's codes (d90236, d90313): agentid (41011 missing, 40056 wrong), the
targets (82001 none given; unknown ones listed in ``invaliduser``/``invalidparty``/``invalidtag``,
81013 when none is valid; over 1000 users 40032), msgtype (40008), text and markdown (44004 empty;
over 2048 bytes **truncated**, recorded as a violation), media messages (41006 missing, 40007
unknown, expired or of the wrong type), textcard (41016 title, 41033 description, 41010 url;
over-long title/description/btntxt truncated as violations), template_card (see :mod:`.cards`).

The silent limit: more than 30 messages a minute or 1000 an hour from the app to one member are
**dropped without an error** (the response is ``ok`` as usual); the emulator records each in
``dropped`` so tests can see what the bot's pacing failed to prevent. ``enable_duplicate_check``
suppresses an identical request within ``duplicate_check_interval`` (default 1800 s, max 4 h) the
same way (⚠ what WeCom answers then is undocumented; here: ``ok`` with a fresh msgid).

Recall: only a msgid this app sent, within 24 h (42052 after), otherwise 40058 (d90313 40058 help:
"撤回消息时报错，请检查发消息和撤回消息是否同一个应用").
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import deque
from typing import TYPE_CHECKING, Any

from . import cards
from .errors import WeComError, ok
from .media import MEDIA_TTL
from .state import Sent
from .wire import Call, Route, cut_utf8, get_int, get_obj, get_str, utf8_len

if TYPE_CHECKING:
    from .server import WeComEmulator

TEXT_LIMIT = 2048
PER_MINUTE, PER_HOUR = 30, 1000
RECALL_WINDOW = 24 * 3600
MEDIA_TYPES = {"image": ("image",), "voice": ("voice",), "video": ("video",),
               "file": ("file", "image", "voice", "video")}
MSGTYPES = ("text", "markdown", "textcard", "template_card", *MEDIA_TYPES)


def send(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    body, world = call.body, emu.world
    agentid = get_int(body, "agentid", missing=41011)
    if agentid != world.agent_id:
        raise WeComError(40056)
    users, invalid = _targets(emu, body)
    msgtype = body.get("msgtype")
    if msgtype not in MSGTYPES:
        raise WeComError(40008, f"msgtype {msgtype!r} is not emulated or not valid")
    payload = copy.deepcopy(get_obj(body, msgtype, missing=40058))
    msgid = world.new_msgid()
    task_id = _check_content(emu, msgtype, payload, msgid)
    recipients = sorted(users)
    if not recipients:
        raise WeComError(81013)
    if task_id is not None:
        cards.claim_task_id(emu, task_id)
    duplicate = _duplicate(emu, body)
    delivered = []
    for userid in recipients:
        reason = "duplicate_check" if duplicate else _over_limit(emu, userid)
        if reason:
            world.dropped.append({"userid": userid, "msgid": msgid, "msgtype": msgtype,
                                  "reason": reason, "at": world.now()})
            continue
        world.send_times.setdefault(userid, deque()).append(world.clock.ticks())
        world.inbox.setdefault(userid, []).append({"msgid": msgid, "via": "message/send"})
        delivered.append(userid)
    world.sent[msgid] = Sent(msgid, msgtype, payload, world.now(), delivered, task_id)
    result = ok(invaliduser="|".join(invalid[0]), invalidparty="|".join(invalid[1]),
                invalidtag="|".join(invalid[2]), unlicenseduser="", msgid=msgid)
    if msgtype == "template_card" and task_id is not None:
        cards.open_views(emu, msgid, task_id, payload, delivered)
        if cards.needs_response_code(payload):
            result["response_code"] = cards.issue_code(emu, task_id, "send")
    world.changed.notify()
    return result


def _targets(emu: WeComEmulator, body: dict[str, Any]) -> tuple[set[str], tuple[list[str], list[str], list[str]]]:
    """Members reached, plus the invalid user/party/tag ids as WeCom lists them (lower-cased)."""
    world = emu.world
    fields = {}
    for key in ("touser", "toparty", "totag"):
        value = body.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise WeComError(40058, f"{key} must be a string of ids joined by '|'")
        fields[key] = [part for part in value.split("|") if part]
    if not any(fields.values()):
        raise WeComError(82001)
    if len(fields["touser"]) > 1000:
        raise WeComError(40032)
    if len(fields["toparty"]) > 100 or len(fields["totag"]) > 100:
        raise WeComError(40058, "at most 100 parties and 100 tags")
    users: set[str] = set()
    bad_users: list[str] = []
    for userid in fields["touser"]:
        if userid == "@all":
            users |= set(world.members)
        elif userid.lower() in world.members:
            users.add(userid.lower())
        else:
            bad_users.append(userid.lower())
    departments = {d for m in world.members.values() for d in m.departments}
    known_tags = {t for m in world.members.values() for t in m.tags}
    bad_parties = [p for p in fields["toparty"] if not p.isdigit() or int(p) not in departments]
    bad_tags = [t for t in fields["totag"] if not t.isdigit() or int(t) not in known_tags]
    for member in world.members.values():
        if {str(d) for d in member.departments} & set(fields["toparty"]) or \
                {str(t) for t in member.tags} & set(fields["totag"]):
            users.add(member.userid)
    return users, (bad_users, bad_parties, bad_tags)


def _check_content(emu: WeComEmulator, msgtype: str, payload: dict[str, Any], msgid: str) -> str | None:
    """Validate (and truncate, recording violations) the message object in place; the card's task_id."""
    world = emu.world
    if msgtype in ("text", "markdown"):
        content = get_str(payload, "content", missing=44004, where=f"{msgtype}.")
        if utf8_len(content) > TEXT_LIMIT:
            payload["content"] = cut_utf8(content, TEXT_LIMIT)
            world.violation("text_truncated", f"{msgtype} content of {utf8_len(content)} bytes cut to "
                            f"{TEXT_LIMIT}", msgid=msgid)
    elif msgtype in MEDIA_TYPES:
        media_id = get_str(payload, "media_id", missing=41006, where=f"{msgtype}.")
        media = world.media.get(media_id)
        if media is None or world.now() - media.created_at > MEDIA_TTL or media.type not in MEDIA_TYPES[msgtype]:
            raise WeComError(40007)
    elif msgtype == "textcard":
        get_str(payload, "title", missing=41016, where="textcard.")
        get_str(payload, "description", missing=41033, where="textcard.")
        get_str(payload, "url", missing=41010, max_bytes=2048, where="textcard.")
        for key, limit in (("title", 128), ("description", 512), ("btntxt", 4)):
            value = payload.get(key)
            if isinstance(value, str) and len(value) > limit:
                payload[key] = value[:limit]
                world.violation("textcard_truncated", f"textcard.{key} over {limit} characters", msgid=msgid)
    elif msgtype == "template_card":
        _, task_id = cards.validate_card(emu, payload)
        return task_id
    return None


def _over_limit(emu: WeComEmulator, userid: str) -> str | None:
    times = emu.world.send_times.get(userid)
    if not times:
        return None
    now = emu.world.clock.ticks()
    while times and times[0] <= now - 3600:
        times.popleft()
    if sum(1 for t in times if t > now - 60) >= PER_MINUTE:
        return "per_member_minute_limit"
    if len(times) >= PER_HOUR:
        return "per_member_hour_limit"
    return None


def _duplicate(emu: WeComEmulator, body: dict[str, Any]) -> bool:
    if body.get("enable_duplicate_check") != 1:
        return False
    interval = body.get("duplicate_check_interval", 1800)
    if isinstance(interval, bool) or not isinstance(interval, int) or not 0 < interval <= 4 * 3600:
        raise WeComError(40058, "duplicate_check_interval must be 1..14400 seconds")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    now = emu.world.now()
    last = emu.world.duplicates.get(digest)
    if last is not None and now - last < interval:
        return True
    emu.world.duplicates[digest] = now
    return False


def recall(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    msgid = get_str(call.body, "msgid", missing=40058)
    sent = emu.world.sent.get(msgid)
    if sent is None or sent.recalled:
        raise WeComError(40058, "msgid was not sent by this app or is already recalled")
    if emu.world.now() - sent.at > RECALL_WINDOW:
        raise WeComError(42052)
    sent.recalled = True
    emu.world.changed.notify()
    return ok()


def messages_to(emu: WeComEmulator, userid: str, include_recalled: bool = False) -> list[dict[str, Any]]:
    """What a member's app chat shows, oldest first: ``{msgid, msgtype, <msgtype>: object, at,
    via, recalled}``; a template card as that member sees it now (updates applied)."""
    world = emu.world
    out = []
    for entry in world.inbox.get(userid.lower(), []):
        if entry["via"] == "passive":
            out.append(copy.deepcopy(entry["message"]))
            continue
        sent = world.sent[entry["msgid"]]
        if sent.recalled and not include_recalled:
            continue
        payload = copy.deepcopy(sent.payload)
        view = world.cards.get((sent.task_id, userid.lower())) if sent.task_id else None
        if view is not None:
            payload = cards.card_state(emu, sent.task_id, userid)["card"]
        out.append({"msgid": sent.msgid, "msgtype": sent.msgtype, sent.msgtype: payload, "at": sent.at,
                    "via": entry["via"], "recalled": sent.recalled})
    return out


ROUTES = {
    "message/send": Route("POST", send, kinds=("app",)),
    "message/recall": Route("POST", recall, kinds=("app",)),
}
