"""What members do in the WeCom app: the device side that calls the bot (PROTOCOL.md §1.4, §9).

Why plaintext exactly as §1.4: the adapter parses these XML documents; field order, CDATA for
strings, bare numbers, ``Location_X`` = latitude, ``Event`` in its real case (``click``,
``enter_agent``, ``LOCATION``, ``template_card_event``) are what it will meet in production.

Each action creates the member on first use, builds the plaintext, and delivers it through
:class:`~.callbacks.CallbackDelivery` (encrypted, signed, retried). It returns the delivery
record when the bot has answered (``wait=True``), or at once with the delivery running in the
background (``wait=False``; ``deliveries()`` shows it).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import TYPE_CHECKING, Any

from . import cards, menus
from .errors import WeComError
from .media import store

if TYPE_CHECKING:
    from .callbacks import CallbackDelivery
    from .state import World

USERID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
Field = tuple[str, Any]


def cdata(text: str) -> str:
    return "<![CDATA[" + str(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


class Bare(str):
    """Text written without CDATA, as WeCom writes numbers (``<Location_X>23.134521</Location_X>``)."""


def render(fields: list[Field], root: str = "xml") -> str:
    """``<xml>`` with strings as CDATA, ints and :class:`Bare` values bare, nested lists as elements."""
    parts = []
    for name, value in fields:
        if isinstance(value, list):
            parts.append(render(value, name))
        elif isinstance(value, Bare) or (isinstance(value, int) and not isinstance(value, bool)):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}>{cdata(value)}</{name}>")
    return f"<{root}>{''.join(parts)}</{root}>"


def coordinate(value: float) -> Bare:
    return Bare(f"{float(value):.6f}")


class DeviceActions:
    """Mixin of :class:`~.server.WeComEmulator`: members acting in the app chat."""

    world: World
    callbacks: CallbackDelivery
    base_url: str
    _background: set[asyncio.Task[Any]]

    def add_member(self, userid: str, name: str | None = None, departments: list[int] | None = None,
                   tags: list[int] | None = None) -> dict[str, Any]:
        """Create or update a member of the corp, visible to the app (so message/send reaches them)."""
        if not isinstance(userid, str) or not USERID_RE.match(userid):
            raise ValueError("userid: 1-64 characters of letters, digits, '-', '_' and '.'")
        member = self.world.ensure_member(userid, name)
        if departments is not None:
            member.departments = list(departments)
        if tags is not None:
            member.tags = list(tags)
        return {"userid": member.userid, "name": member.name, "departments": member.departments,
                "tags": member.tags}

    def _head(self, userid: str, msgtype: str, create_time: float | None = None) -> list[Field]:
        member = self.add_member(userid)
        at = self.world.now() if create_time is None else create_time
        return [("ToUserName", self.world.corp_id), ("FromUserName", member["userid"]),
                ("CreateTime", int(at)), ("MsgType", msgtype)]

    def _msgid(self) -> int:
        return secrets.randbits(63)

    async def _deliver(self, fields: list[Field], kind: str, userid: str, wait: bool,
                       context: dict[str, Any] | None = None) -> dict[str, Any]:
        plaintext = render(fields)
        coro = self.callbacks.deliver(plaintext, kind=kind, userid=userid.lower(), context=context)
        if wait:
            return await coro
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return {"kind": kind, "userid": userid.lower(), "plaintext": plaintext, "background": True}

    async def user_text(self, userid: str, text: str, *, wait: bool = True) -> dict[str, Any]:
        """The member types a text message to the app."""
        fields = self._head(userid, "text") + [("Content", text), ("MsgId", self._msgid()),
                                               ("AgentID", self.world.agent_id)]
        return await self._deliver(fields, "text", userid, wait)

    async def user_image(self, userid: str, data: bytes, *, filename: str = "photo.jpg",
                         create_time: float | None = None, wait: bool = True) -> dict[str, Any]:
        """The member sends a photo: stored as media (MediaId, 3 days) with a PicUrl served here.
        ``create_time``: the CreateTime to put on it if not now (a message sent earlier than it
        reaches the bot; ⚠ whether WeCom ever delivers such a CreateTime is not documented)."""
        try:
            media = store(self, "image", data, filename)  # type: ignore[arg-type]
        except WeComError as exc:  # the client would not send it: a bad argument here
            raise ValueError(f"not a photo WeCom would accept: {exc}") from None
        fields = self._head(userid, "image", create_time) + [("PicUrl", f"{self.base_url}/_pic/{media.media_id}"),
                                                ("MediaId", media.media_id), ("MsgId", self._msgid()),
                                                ("AgentID", self.world.agent_id)]
        record = await self._deliver(fields, "image", userid, wait)
        return {**record, "media_id": media.media_id}

    async def user_location(self, userid: str, latitude: float, longitude: float, label: str = "",
                            *, scale: int = 15, wait: bool = True) -> dict[str, Any]:
        """The member shares a location in the chat (a location message, AppType wxwork)."""
        fields = self._head(userid, "location") + [
            ("Location_X", coordinate(latitude)), ("Location_Y", coordinate(longitude)), ("Scale", int(scale)),
            ("Label", label), ("MsgId", self._msgid()),
            ("AgentID", self.world.agent_id), ("AppType", "wxwork")]
        return await self._deliver(fields, "location", userid, wait)

    async def user_location_event(self, userid: str, latitude: float, longitude: float,
                                  precision: float = 100.0, *, wait: bool = True) -> dict[str, Any]:
        """The LOCATION report a member's client sends on entering the app chat (if allowed)."""
        fields = self._head(userid, "event") + [
            ("Event", "LOCATION"), ("Latitude", coordinate(latitude)), ("Longitude", coordinate(longitude)),
            ("Precision", coordinate(precision)), ("AgentID", self.world.agent_id)]
        return await self._deliver(fields, "LOCATION", userid, wait)

    async def enter_agent(self, userid: str, *, wait: bool = True) -> dict[str, Any]:
        """The member opens the app chat (sent only if 上报进入应用事件 is on)."""
        fields = self._head(userid, "event") + [("Event", "enter_agent"), ("EventKey", ""),
                                                ("AgentID", self.world.agent_id)]
        return await self._deliver(fields, "enter_agent", userid, wait)

    def _menu_button(self, key: str, kinds: tuple[str, ...]) -> dict[str, Any]:
        for button in menus.menu_buttons(self):  # type: ignore[arg-type]
            if button.get("key") == key and button.get("type") in kinds:
                return button
        shown = [(b.get("type"), b.get("key")) for b in menus.menu_buttons(self)]  # type: ignore[arg-type]
        raise LookupError(f"the menu has no {'/'.join(kinds)} button with key {key!r}; it has {shown}")

    async def menu_click(self, userid: str, key: str, *, wait: bool = True) -> dict[str, Any]:
        """The member taps a ``click`` button of the app menu."""
        self._menu_button(key, ("click",))
        fields = self._head(userid, "event") + [("Event", "click"), ("EventKey", key),
                                                ("AgentID", self.world.agent_id)]
        return await self._deliver(fields, "click", userid, wait)

    async def menu_location_select(self, userid: str, key: str, latitude: float, longitude: float,
                                   label: str = "", poiname: str = "", *, scale: int = 15,
                                   wait: bool = True) -> dict[str, Any]:
        """The member picks a place with a ``location_select`` menu button (values in CDATA, §1.4)."""
        self._menu_button(key, ("location_select",))
        info = [("Location_X", str(coordinate(latitude))), ("Location_Y", str(coordinate(longitude))),
                ("Scale", str(scale)), ("Label", label), ("Poiname", poiname)]
        fields = self._head(userid, "event") + [("Event", "location_select"), ("EventKey", key),
                                                ("SendLocationInfo", info), ("AgentID", self.world.agent_id)]
        return await self._deliver(fields, "location_select", userid, wait)

    async def card_click(self, userid: str, task_id: str, key: str, *, wait: bool = True) -> dict[str, Any]:
        """The member presses button ``key`` on card ``task_id`` (a msgid is accepted too).

        Refused (LookupError / ValueError) unless the card was delivered to this member and not
        recalled, the key is a callback button on it, and the card is not greyed out. Issues a fresh
        single-use ResponseCode (72 h) for this member, returned as ``response_code``.
        """
        uid = userid.lower()
        if (task_id, uid) not in self.world.cards:
            task_id = next((t for (t, u), v in self.world.cards.items() if u == uid and v.msgid == task_id), task_id)
        view = self.world.cards.get((task_id, uid))
        sent = self.world.sent.get(view.msgid) if view else None
        if view is None or sent is None or sent.recalled:
            raise LookupError(f"no card {task_id!r} in {userid!r}'s chat")
        if view.disabled:
            raise ValueError(f"card {task_id!r} is greyed out for {userid!r} ({view.replace_name!r})")
        keys = cards.clickable_keys(view)
        if key not in keys:
            raise LookupError(f"card {task_id!r} has no callback button {key!r}; it has {keys}")
        code = cards.issue_code(self, task_id, "click", uid)  # type: ignore[arg-type]
        view.clicks.append({"key": key, "response_code": code, "at": self.world.now()})
        fields = self._head(userid, "event") + [
            ("Event", "template_card_event"), ("EventKey", key), ("TaskId", task_id),
            ("CardType", view.card.get("card_type", "button_interaction")), ("ResponseCode", code),
            ("AgentID", self.world.agent_id)]
        record = await self._deliver(fields, "template_card_event", userid, wait, {"task_id": task_id})
        return {**record, "response_code": code}
