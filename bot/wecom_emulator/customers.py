"""What customers do in WeChat through 微信客服: open a link, type, tap a menu item (§6.2, §6.3).

Why: the customer flow of Fieldbot (status pushes, sign-off, rating) runs through kf. A customer
event never reaches the bot directly: it is appended to the account's message stream, and the bot
gets a ``kf_msg_or_event`` callback (no FromUserName, no AgentID, no body) with a Token valid 10
minutes, then pulls with ``kf/sync_msg``.

- ``customer_open_link(url)``: the URL from ``kf/add_contact_way`` plus ``&scene_param=`` (≤ 128
  bytes) → an ``enter_session`` event echoing scene and scene_param, with a ``welcome_code`` (20 s)
  if the customer had no message and no welcome in the past 48 h. It does **not** open the send
  window (⚠ the notes describe the window as following the customer's *messages*).
- ``customer_text`` / ``customer_tap(menu_id)`` / ``customer_image`` / ``customer_location``: a
  customer message (origin 3) that opens the 48 h window and resets the 5-message quota; a tap is a
  text with ``menu_id``, the item's content as text, and only items of a msgmenu the bot actually
  sent to this customer can be tapped; a photo is ``image.media_id`` (media/get serves it). A message
  after an ended session (state 4) starts a new session in state 0.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import kf
from .device import render
from .errors import WeComError
from .media import store
from .state import KfCustomer, random_id

if TYPE_CHECKING:
    from .callbacks import CallbackDelivery
    from .state import World

WELCOME_QUIET = 48 * 3600


class CustomerActions:
    """Mixin of :class:`~.server.WeComEmulator`: WeChat customers talking to a kf account."""

    world: World
    callbacks: CallbackDelivery
    _background: set[asyncio.Task[Any]]

    def add_kf_account(self, name: str = "Fieldbot 客服", open_kfid: str | None = None) -> str:
        """Create a kf account (the admin console's job); returns its open_kfid (``wk…``)."""
        kfid = open_kfid or "wk" + random_id(30)
        self.world.kf_accounts[kfid] = name
        self.world.kf_stream.setdefault(kfid, [])
        return kfid

    def _customer(self, external_userid: str) -> KfCustomer:
        found = self.world.customers.get(external_userid)
        if found is None:
            raise LookupError(f"unknown customer {external_userid!r}: open a link first")
        return found

    async def _notify(self, open_kfid: str, external_userid: str, wait: bool) -> dict[str, Any]:
        """Append done by the caller; now tell the bot: kf_msg_or_event with a fresh Token."""
        token = "ENC" + random_id(40)
        self.world.kf_tokens[token] = (open_kfid, self.world.now() + kf.MSG_TOKEN_TTL)
        plaintext = render([("ToUserName", self.world.corp_id), ("CreateTime", int(self.world.now())),
                            ("MsgType", "event"), ("Event", "kf_msg_or_event"), ("Token", token),
                            ("OpenKfId", open_kfid)])
        coro = self.callbacks.deliver(plaintext, kind="kf_msg_or_event", external_userid=external_userid,
                                      agent=False)
        if wait:
            return await coro
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return {"kind": "kf_msg_or_event", "external_userid": external_userid, "background": True}

    def _append(self, open_kfid: str, entry: dict[str, Any]) -> dict[str, Any]:
        entry = {"msgid": random_id(32), "open_kfid": open_kfid, "send_time": int(self.world.now()), **entry}
        self.world.kf_stream.setdefault(open_kfid, []).append(entry)
        self.world.changed.notify()
        return entry

    async def customer_open_link(self, url: str, *, external_userid: str | None = None,
                                 nickname: str = "客户", wait: bool = True) -> dict[str, Any]:
        """A WeChat user opens a kf link (or scans its QR): ``enter_session`` + a callback."""
        query = parse_qs(urlsplit(url).query)
        enc = (query.get("enc_scene") or [""])[0]
        if enc not in self.world.contact_ways:
            raise LookupError("not a link made by kf/add_contact_way on this emulator")
        open_kfid, scene = self.world.contact_ways[enc]
        scene_param = (query.get("scene_param") or [""])[0]
        if len(scene_param.encode("utf-8")) > 128:
            raise ValueError("scene_param is over 128 bytes")
        ext = external_userid or "wm" + random_id(30)
        person = self.world.customers.get(ext)
        if person is None:
            person = self.world.customers[ext] = KfCustomer(ext, nickname, open_kfid=open_kfid)
        if person.state == 4 or person.open_kfid != open_kfid:
            person.state, person.servicer, person.open_kfid = 0, "", open_kfid
        event: dict[str, Any] = {"event_type": "enter_session", "open_kfid": open_kfid, "external_userid": ext,
                                 "scene": scene, "scene_param": scene_param}
        now = self.world.now()
        quiet = all(t is None or now - t > WELCOME_QUIET for t in (person.last_customer_msg_at, person.last_welcome_at))
        if quiet:
            event["welcome_code"] = kf.issue_event_code(self, open_kfid, person)  # type: ignore[arg-type]
        entry = self._append(open_kfid, {"origin": 4, "msgtype": "event", "event": event})
        delivery = await self._notify(open_kfid, ext, wait)
        return {"external_userid": ext, "open_kfid": open_kfid, "event": entry["event"], "delivery": delivery}

    async def _customer_message(self, external_userid: str, text: dict[str, Any], wait: bool,
                                msgtype: str = "text") -> dict[str, Any]:
        person = self._customer(external_userid)
        if person.state == 4:
            person.state, person.servicer = 0, ""
        person.last_customer_msg_at = self.world.now()
        person.sends_since = 0
        entry = self._append(person.open_kfid, {"external_userid": external_userid, "origin": 3,
                                                "msgtype": msgtype, msgtype: text})
        delivery = await self._notify(person.open_kfid, external_userid, wait)
        return {"message": entry, "delivery": delivery}

    async def customer_text(self, external_userid: str, text: str, *, wait: bool = True) -> dict[str, Any]:
        """The customer types a message: opens the 48 h / 5-message window."""
        if not text:
            raise ValueError("text must not be empty")
        return await self._customer_message(external_userid, {"content": text}, wait)

    async def customer_image(self, external_userid: str, data: bytes, *, filename: str = "photo.jpg",
                             wait: bool = True) -> dict[str, Any]:
        """The customer sends a photo: stored as media (3 days), pulled as ``image.media_id``."""
        self._customer(external_userid)
        try:
            media = store(self, "image", data, filename)  # type: ignore[arg-type]
        except WeComError as exc:  # WeChat would not send it: a bad argument here
            raise ValueError(f"not a photo WeChat would send: {exc}") from None
        record = await self._customer_message(external_userid, {"media_id": media.media_id}, wait, "image")
        return {**record, "media_id": media.media_id}

    async def customer_location(self, external_userid: str, latitude: float, longitude: float, name: str = "",
                                address: str = "", *, wait: bool = True) -> dict[str, Any]:
        """The customer shares a location (``location``: latitude, longitude, name, address)."""
        place = {"latitude": float(latitude), "longitude": float(longitude), "name": name, "address": address}
        return await self._customer_message(external_userid, place, wait, "location")

    async def customer_tap(self, external_userid: str, menu_id: str, *, wait: bool = True) -> dict[str, Any]:
        """The customer taps a ``click`` item of a msgmenu the bot sent them (a text with menu_id)."""
        for message in reversed(self.world.kf_outbox.get(external_userid, [])):
            if message["msgtype"] != "msgmenu":
                continue
            for item in message["msgmenu"].get("list", []):
                click = item.get("click") if item.get("type") == "click" else None
                if click and click.get("id") == menu_id:
                    return await self._customer_message(
                        external_userid, {"content": click.get("content", ""), "menu_id": menu_id}, wait)
        raise LookupError(f"no msgmenu item {menu_id!r} was sent to {external_userid!r}")

    def set_service_state(self, external_userid: str, state: int, servicer: str = "") -> dict[str, Any]:
        """What a human servicer or the console does to a session (e.g. take it over: state 3)."""
        if state not in kf.TRANSITIONS:
            raise ValueError("state must be 0-4")
        person = self._customer(external_userid)
        person.state, person.servicer = state, servicer.lower() if state in (2, 3) else ""
        self.world.changed.notify()
        return {"service_state": person.state, "servicer_userid": person.servicer}
