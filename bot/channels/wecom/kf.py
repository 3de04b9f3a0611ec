"""WeChat customer service (微信客服) for customers: nothing to install, a link or QR opens the chat.

* **Joining**: a ticket's customer link is the company's customer-service link with
  ``scene_param`` = the invite token and an HMAC of it (links get forwarded; §6.2).  Opening it
  sends an ``enter_session`` event echoing ``scene_param``; a valid one becomes ``/start TOKEN``
  from that WeChat user, so the usual join flow binds them to the ticket.
* **In**: WeCom only *notifies* (``kf_msg_or_event`` at the app's callback URL, with a short-lived
  token); the messages are pulled with ``kf/sync_msg`` from a cursor kept in the database.  Text,
  menu taps, photos (``media_id``, fetched with ``media/get``) and locations become updates.  Each
  page is stored in the inbox before the cursor moves, so a crash re-reads, never skips; a re-read
  message is dropped by its ``msgid``.  On start the adapter catches up from the cursor.
* **Out**: ``kf/send_msg``.  Buttons are ``msgmenu`` click items (≤ 10); a tap comes back as the
  customer's text with ``menu_id`` = the button's data.  Every push carries a tap target (a
  "Got it" item when it has no buttons), because each customer message reopens the window.
* **The window** (§6.2): WeCom accepts at most 5 messages within 48 h of the customer's last
  message.  That is this channel's reachability: a push outside 48 h fails as *not reachable* (the
  row is kept as failed and the desk is told, the customer marked unreachable until they write
  again); a sixth message waits and is retried, never sent into an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select, update

from bot.channels.base import Capabilities, ChannelAdapter, Pacing
from bot.channels.wecom.cards import TEXT_BYTES, split_bytes
from bot.channels.wecom.client import WecomClient, WecomError, delivery_error
from bot.channels.wecom.state import StateStore
from handlers.channel import ChannelTraits, DeliveryError, Inbound, Location, Outbound, Photo, session_key
from handlers.i18n import t
from models.enums import Channel, OutboxStatus
from models.people import ChannelIdentity
from models.runtime import OutboxMessage

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
#: kf/sync_msg's answer to a Token that is not (or no longer) good for this account.
TOKEN_REFUSED = 95007
PER_MESSAGE = 5
MENU_ITEMS = 10
HEAD_BYTES = 1024  # a msgmenu's head_content (PROTOCOL.md §6)


def sign_scene(secret: str, token: str) -> str:
    """``token.sig`` (≤ 128 bytes): the invite token and a short HMAC, so a forwarded or edited
    link cannot name another ticket's invite."""
    digest = hmac.new(secret.encode("utf-8"), token.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
    return f"{token}.{digest}"


def verify_scene(secret: str, scene_param: str) -> str | None:
    token, _, digest = scene_param.rpartition(".")
    if not token or not hmac.compare_digest(sign_scene(secret, token), scene_param):
        return None
    return token


class WecomKfAdapter(ChannelAdapter):
    channel = Channel.WECOM_KF
    capabilities = Capabilities(max_buttons=MENU_ITEMS, edit=False, location_request=False, chat_menus=False,
                                max_text=2048)
    pacing = Pacing(overall_per_second=10.0, chat_interval=0.3, group_interval=0.3)

    def __init__(self, app: Any, client: WecomClient | None = None, media_root: Any = None):  # noqa: ANN401
        cfg = app.config.wecom
        self.app = app
        self.config = cfg
        self.media_root = media_root
        self.store = StateStore(app.db)
        secret = (cfg.kf_secret.get_secret_value() or cfg.secret.get_secret_value())
        self.client = client or WecomClient(base_url=cfg.api_base, corp_id=cfg.corp_id, secret=secret,
                                            store=self.store, token_name=f"wecom:kf-token:{cfg.corp_id}")
        self.cursor_name = f"wecom:kf:cursor:{cfg.kf_open_kfid}"
        self._wake = asyncio.Event()
        #: Set while nothing is waiting to be pulled (tests and the demo wait on it).
        self.idle = asyncio.Event()
        self._sync_token: str | None = None
        self._intake: Any = None
        self._receiver: asyncio.Task | None = None

    @classmethod
    def traits(cls, config: Any) -> ChannelTraits | None:  # noqa: ANN401
        cfg = config.wecom
        if not (cfg.enabled and cfg.kf_open_kfid and cfg.kf_link):
            return None
        secret, base = cfg.link_secret.get_secret_value() or cfg.aes_key.get_secret_value(), cfg.kf_link
        joiner = "&" if "?" in base else "?"
        return ChannelTraits(Channel.WECOM_KF, reply_window=WINDOW, serves_staff=False,
                             join_link=lambda token: f"{base}{joiner}scene_param={quote(sign_scene(secret, token))}")

    # -- in -----------------------------------------------------------------------------------
    async def start(self, intake: Any) -> None:  # noqa: ANN401
        self._intake = intake
        self._receiver = asyncio.create_task(self._sync_loop(), name="wecom-kf-sync")

    def wake(self, token: str | None) -> None:
        """A ``kf_msg_or_event`` arrived: pull now (with its token, which lifts the rate limit)."""
        self._sync_token = token or self._sync_token
        self.idle.clear()
        self._wake.set()

    async def _sync_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("pulling customer-service messages failed; trying again", exc_info=True)
            if not self._wake.is_set():
                self.idle.set()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=60.0)
            except asyncio.TimeoutError:
                pass

    async def sync(self) -> int:
        """Pull everything after the stored cursor into the inbox; the cursor moves only after a
        page is stored.  A Token WeCom refuses (95007: past its 10 minutes, another 微信客服
        account's — their events reach the same URL — or not one it issued) is dropped, and the
        pull made without one (allowed, only rate-limited) rather than failing until the next
        event brings another."""
        taken = 0
        while True:
            body: dict[str, Any] = {"limit": 1000, "open_kfid": self.config.kf_open_kfid}
            cursor = await self.store.get(self.cursor_name)
            if cursor:
                body["cursor"] = cursor
            if self._sync_token:
                body["token"] = self._sync_token
            try:
                data = await self.client.call("/cgi-bin/kf/sync_msg", body)
            except WecomError as exc:
                if exc.errcode != TOKEN_REFUSED or "token" not in body:
                    raise
                log.info("WeCom refused the customer-service Token (%s); pulling without one", exc.errcode)
                if self._sync_token == body["token"]:
                    self._sync_token = None
                continue
            items = [(str(m.get("msgid") or uuid.uuid4().hex), m) for m in data.get("msg_list") or []
                     if isinstance(m, dict)]
            await self._note_window(items)
            if items:
                taken += await self._intake.accept(Channel.WECOM_KF, items)
            if data.get("next_cursor"):
                await self.store.put(self.cursor_name, data["next_cursor"])
            if not data.get("has_more"):
                return taken

    async def _note_window(self, items: list[tuple[str, dict]]) -> None:
        """Before the messages are stored: when each customer last wrote (the 48 h / 5-message
        window opens only on a customer's own message), and a welcome code (20 s) to answer their
        joining with, since opening the link alone opens no window."""
        for _, message in items:
            event = message.get("event") if isinstance(message.get("event"), dict) else {}
            customer = message.get("external_userid") or event.get("external_userid")
            if not isinstance(customer, str):
                continue
            if message.get("origin") == 3 and isinstance(message.get("send_time"), int):
                # When we learnt of it (send_time is whole seconds: messages sent in that same
                # second before it would be counted against the new window).
                await self.store.put(f"wecom:kf:last:{customer}", str(self.app.clock.now().timestamp()))
                await self._release_waiting(customer)
            if event.get("welcome_code"):
                await self.store.put(f"wecom:kf:welcome:{customer}", str(event["welcome_code"]),
                                     _now() + timedelta(seconds=20))

    async def _release_waiting(self, customer: str) -> None:
        """The customer wrote: what waited for the window goes now, not at its next back-off
        (the sender is woken when this update is handled)."""
        async with self.app.db.write() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.channel == Channel.WECOM_KF, OutboxMessage.chat_id == customer,
                       OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.attempts > 0)
                .values(not_before=self.app.clock.now()).execution_options(synchronize_session=False))

    def parse(self, raw: dict[str, Any], received_at: datetime) -> Inbound | None:
        customer = raw.get("external_userid") or (raw.get("event") or {}).get("external_userid")
        if not isinstance(customer, str) or not customer:
            raise ValueError("no external_userid")
        base = dict(channel=Channel.WECOM_KF, update_id=str(raw.get("msgid") or ""),
                    session_key=session_key("kf", customer, customer), user_id=customer, chat_id=customer,
                    received_at=received_at, private=True, words_as_commands=True)
        if raw.get("origin") == 4 and raw.get("msgtype") == "event":
            event = raw.get("event") or {}
            if event.get("event_type") != "enter_session":
                return None
            secret = self.config.link_secret.get_secret_value() or self.config.aes_key.get_secret_value()
            token = verify_scene(secret, str(event.get("scene_param") or ""))
            return Inbound(**base, command="start", args=token or "")
        if raw.get("origin") != 3:
            return None  # a servicer's message, or a system notice
        kind = raw.get("msgtype")
        if kind == "text":
            text = raw.get("text") or {}
            content, menu_id = str(text.get("content") or ""), text.get("menu_id")
            if menu_id:
                return Inbound(**base, callback_data=str(menu_id))
            if content.startswith("/"):
                head, _, rest = content.partition(" ")
                return Inbound(**base, command=head[1:].lower() or None, args=rest.strip())
            return Inbound(**base, text=content)
        if kind == "image":  # a complaint's photo (downloaded with media/get, like a member's)
            media_id = (raw.get("image") or {}).get("media_id")
            if not isinstance(media_id, str) or not media_id:
                raise ValueError("an image without a media_id")
            return Inbound(**base, photos=[Photo(file_ref=media_id)])
        if kind == "location":
            place = raw.get("location") or {}
            try:
                return Inbound(**base, location=Location(float(place["latitude"]), float(place["longitude"])))
            except (KeyError, TypeError, ValueError):
                raise ValueError("a location without latitude and longitude") from None
        return None  # voice, video, files… from customers are not part of any dialog

    # -- out ----------------------------------------------------------------------------------
    async def send(self, chat_id: str, message: Outbound) -> str | None:
        code = None
        if not await self._window_open(chat_id):
            code = await self.store.pop(f"wecom:kf:welcome:{chat_id}")
            if code is None:
                raise await self._closed(chat_id)
        try:
            return await self._send(chat_id, message, code)
        except DeliveryError:
            raise
        except Exception as exc:
            error = delivery_error(exc)
            if error is None:
                raise
            if "95002" in error.reason:  # outside the 48 h window after all
                raise DeliveryError("permanent", "not reachable: the customer last wrote over 48 h ago") from None
            raise error from None

    async def _closed(self, customer: str) -> DeliveryError:
        """The window is closed: a customer active lately (joined, or wrote within 48 h) may tap
        any moment — the message waits and is retried; one silent for longer is not reachable."""
        async with self.app.db.read() as session:
            seen = await session.scalar(select(ChannelIdentity.last_seen_at).where(
                ChannelIdentity.channel == Channel.WECOM_KF, ChannelIdentity.external_user_id == customer))
        if seen is not None and self.app.clock.now() - seen <= WINDOW:
            return DeliveryError("transient", "waiting for the customer to open the chat (a tap or a message)")
        return DeliveryError("permanent", "not reachable: the customer has not written in the last 48 h")

    async def _window_open(self, customer: str) -> bool:
        """Inside 48 h of the customer's last own message, with fewer than 5 messages sent since;
        a sixth waits (a transient failure, retried) rather than be refused."""
        last = await self.store.get(f"wecom:kf:last:{customer}")
        if last is None:
            return False
        wrote = datetime.fromtimestamp(float(last), timezone.utc)
        if self.app.clock.now() - wrote > WINDOW:
            return False
        async with self.app.db.read() as session:
            used = await session.scalar(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.channel == Channel.WECOM_KF, OutboxMessage.chat_id == customer,
                OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at > wrote,
                OutboxMessage.purpose != "menu"))  # command menus are not sent here (no such thing)
        if used >= PER_MESSAGE:
            raise DeliveryError("transient", "5 messages since the customer last wrote: waiting for them")
        return True

    async def _send(self, customer: str, message: Outbound, welcome_code: str | None = None) -> str | None:
        sent = None
        for photo in message.photos:
            if photo.get("path") and self.media_root is not None:
                media_id = await self.client.upload_image(self.media_root / photo["path"])
                sent = await self._post(customer, {"msgtype": "image", "image": {"media_id": media_id}})
        document = message.document or {}
        if document.get("path") and self.media_root is not None:  # a file message, the text after it
            media_id = await self.client.upload_file(self.media_root / document["path"],
                                                     document.get("filename") or "document.pdf",
                                                     document.get("mime") or "application/pdf")
            sent = await self._post(customer, {"msgtype": "file", "file": {"media_id": media_id}})
        if not message.text:
            return sent
        buttons = [b for row in message.buttons for b in row][:MENU_ITEMS]
        items = [{"type": "click", "click": {"id": b.data[:64], "content": b.label[:128]}} for b in buttons]
        if not items:  # a tap target on every push: each tap reopens the window
            items = [{"type": "click", "click": {"id": "ok", "content": t(message.lang, "wecom.got_it")}}]
        if welcome_code is not None:  # the one answer to a customer's joining (20 s, one message)
            data = await self.client.call("/cgi-bin/kf/send_msg_on_event", {
                "code": welcome_code, "msgid": uuid.uuid4().hex, "msgtype": "msgmenu",
                "msgmenu": {"head_content": split_bytes(message.text, HEAD_BYTES)[0], "list": items}})
            return data.get("msgid")
        # A text of up to 2048 bytes per message, the menu's head up to 1024: a long text goes in
        # whole pieces, the last one as the menu's head if it fits, else a short head of its own.
        pieces = split_bytes(message.text, TEXT_BYTES)
        head = pieces.pop() if len(pieces[-1].encode("utf-8")) <= HEAD_BYTES else t(message.lang, "wecom.kf.menu_head")
        for piece in pieces:
            await self._post(customer, {"msgtype": "text", "text": {"content": piece}})
        return await self._post(customer, {"msgtype": "msgmenu", "msgmenu": {"head_content": head, "list": items}})

    async def _post(self, customer: str, body: dict[str, Any]) -> str | None:
        data = await self.client.call("/cgi-bin/kf/send_msg", {"touser": customer, "open_kfid": self.config.kf_open_kfid,
                                                               "msgid": uuid.uuid4().hex, **body})
        return data.get("msgid")

    async def download(self, file_ref: str) -> bytes:
        return await self.client.download(file_ref)

    async def close(self) -> None:
        await self.client.close()


def _now() -> datetime:
    return datetime.now(timezone.utc)
