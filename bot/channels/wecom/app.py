"""WeCom (企业微信) for staff: the company's self-built app (自建应用).

In: WeCom POSTs every message and event, encrypted, to the callback URL (PROTOCOL.md §1).  The
signature is checked and the body decrypted; the plaintext is stored in the inbox (keyed by its
sha256 — WeCom's MsgId collides across users, and a re-delivery resends the same plaintext) and
only then answered ``200`` with an empty body, well inside WeCom's 5 s; handling runs from the
inbox like any channel's.  A bad signature, another corp's message or a malformed body is refused
(403/400), nothing stored, one log line.  The URL check (GET) is answered with the bare plaintext.
Customer-service (微信客服) events arrive at the same URL and are handed to
:class:`bot.channels.wecom.kf.WecomKfAdapter`, which pulls the messages.  With ``oauth_url`` set,
a staff invite is an OAuth link whose landing page is served here too (:mod:`.oauth`).

What becomes what: text (``/x args``, or a command word without the slash when no dialog is open
— WeCom has no per-person command menu), images (the ``MediaId``), locations (a location message
or the menu's location picker), menu clicks (``cmd:x`` keys are commands), button presses on a
template card (``template_card_event``: the button key is Fieldbot's button data; its single-use
``ResponseCode`` is kept so the card can be edited in place).

Out: text (split at 2048 bytes), images by ``media_id`` (uploaded from the media store), buttons as
a ``template_card`` of type ``button_interaction`` (≤ 6, a unique ``task_id``, which is the message's
id), "edit in place" through ``update_template_card`` with the latest unused response code for that
card and person (else a new message).  One app menu for everyone (``menu/create`` at start).
Pacing per member: 25/min and 900/h, under WeCom's silent 30/min and 1000/h.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.channels.base import Capabilities, ChannelAdapter, Pacing
from bot.channels.wecom import crypto, oauth, xmlmsg
from bot.channels.wecom.cards import TEXT_BYTES, card_body, card_text, split_bytes
from bot.channels.wecom.client import WecomClient, WecomConfigError, delivery_error, explain
from bot.channels.wecom.menu import app_menu
from bot.channels.wecom.state import StateStore
from handlers.channel import ChannelTraits, DeliveryError, Inbound, Location, Outbound, Photo, session_key
from handlers.i18n import t
from models.enums import Channel
from models.runtime import InboundEvent

log = logging.getLogger(__name__)

CODE_TTL = timedelta(hours=72)
#: Callbacks older than this (by their signed timestamp) are replays.
FRESH = timedelta(minutes=10)
#: The events read (the photos of the menu's photo button arrive as image messages).
HANDLED_EVENTS = ("template_card_event", "click", "location_select")


class WecomAdapter(ChannelAdapter):
    channel = Channel.WECOM
    capabilities = Capabilities(max_buttons=6, edit=True, location_request=False, chat_menus=False,
                                max_text=TEXT_BYTES)
    pacing = Pacing(overall_per_second=20.0, chat_interval=0.2, group_interval=0.2,
                    per_recipient=((25, 60.0), (900, 3600.0)))

    def __init__(self, app: Any, media_root: Path | None = None):  # noqa: ANN401
        cfg = app.config.wecom
        self.app = app
        self.config = cfg
        self.media_root = media_root
        self.store = StateStore(app.db)
        self.crypto = crypto.WeComCrypto(cfg.token.get_secret_value(), cfg.aes_key.get_secret_value(), cfg.corp_id)
        self.client = WecomClient(base_url=cfg.api_base, corp_id=cfg.corp_id, secret=cfg.secret.get_secret_value(),
                                  store=self.store, token_name=f"wecom:token:{cfg.agent_id}")
        self.kf: Any = None  # the customer-service adapter, when configured (same callback URL)
        self.listen = cfg.callback_listen
        self.refused = 0

    @classmethod
    def traits(cls, config: Any) -> ChannelTraits | None:  # noqa: ANN401
        if not config.wecom.enabled:
            return None
        lang, cfg = config.bot.language, config.wecom
        if cfg.oauth_url:  # a trusted domain: the invite is an OAuth link (PROTOCOL.md §7(b)), or the code as text
            def link(token: str) -> str:
                return oauth.authorize_url(cfg.corp_id, cfg.agent_id, cfg.oauth_url, token)

            return ChannelTraits(Channel.WECOM, join_link=link, serves_customers=False,
                                 join_text=lambda token: t(lang, "wecom.join_oauth", url=link(token), token=token))
        # Staff join by sending the invite to the app: there is no link to open (no trusted domain).
        return ChannelTraits(Channel.WECOM, join_link=lambda token: t(lang, "wecom.join", token=token),
                             link_is_url=False, serves_customers=False)

    # -- in -----------------------------------------------------------------------------------
    def routes(self, intake: Any) -> list[tuple[str, str, Any]]:  # noqa: ANN401
        from urllib.parse import urlparse

        path = urlparse(self.config.callback_url).path or "/wecom/callback"
        routes = [("GET", path, self._verify), ("POST", path, self._callback(intake))]
        if self.config.oauth_url:  # the OAuth link's landing page (a member joining by invite)
            routes.append(("GET", urlparse(self.config.oauth_url).path, oauth.Landing(self, intake).handle))
        return routes

    async def start(self, intake: Any) -> None:  # noqa: ANN401
        try:
            await self.client.call("/cgi-bin/menu/create", app_menu(self.app.config.bot.language),
                                   params={"agentid": self.config.agent_id})
        except WecomConfigError as exc:
            log.error("%s", explain(exc.errcode, exc.errmsg))
        except Exception as exc:  # the menu is a convenience: commands typed as text still work
            log.warning("creating the WeCom app menu failed: %s", exc)

    async def _verify(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            echo = self.crypto.verify_url(q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""),
                                          q.get("echostr", ""))
        except crypto.WeComCryptoError as exc:
            self.refused += 1
            log.warning("WeCom URL check refused: %s", type(exc).__name__)
            return web.Response(status=403)
        return web.Response(text=echo, content_type="text/plain")

    def _callback(self, intake: Any):  # noqa: ANN202, ANN401
        async def handle(request: web.Request) -> web.Response:
            q = request.query
            body = await request.read()
            try:
                plaintext = self.crypto.decrypt_callback(body, q.get("msg_signature", ""), q.get("timestamp", ""),
                                                         q.get("nonce", ""))
                fields = xmlmsg.read(plaintext)
                self._check_fresh(q.get("timestamp", ""))
            except (crypto.WeComCryptoError, xmlmsg.BadXml, ValueError) as exc:
                self.refused += 1
                log.warning("WeCom callback refused (%s): %s", type(exc).__name__, str(exc)[:120])
                return web.Response(status=403 if isinstance(exc, crypto.BadSignature) else 400)
            if str(fields.get("Event", "")).lower() == "kf_msg_or_event":
                if self.kf is not None:
                    self.kf.wake(fields.get("Token") or None)
                return web.Response(text="")
            try:
                key = hashlib.sha256(plaintext.encode("utf-8")).hexdigest()
                if str(fields.get("Event", "")).lower() == "template_card_event" and not await self._seen(key):
                    await self._keep_code(fields)
                await intake.accept(Channel.WECOM, [(key, {"xml": plaintext})])
            except Exception:
                log.exception("could not store a WeCom callback; WeCom will re-deliver it")
                return web.Response(status=500)
            return web.Response(text="")  # 200, empty: answered asynchronously via message/send

        return handle

    def _check_fresh(self, timestamp: str) -> None:
        try:
            sent = datetime.fromtimestamp(int(timestamp), timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):  # OSError: beyond the platform's time_t
            raise ValueError("timestamp is not a number") from None
        if abs(self.app.clock.now() - sent) > FRESH:
            raise ValueError(f"a replay: signed at {sent.isoformat()}")

    async def _seen(self, key: str) -> bool:
        """Whether this plaintext is already in the inbox: a re-delivered click's code was kept
        (and maybe used) the first time; keeping it again would revive a used code."""
        async with self.app.db.read() as session:
            return (await session.execute(select(InboundEvent.id).where(
                InboundEvent.channel == Channel.WECOM, InboundEvent.external_id == key))).first() is not None

    async def _keep_code(self, fields: dict[str, Any]) -> None:
        """A click's fresh single-use ResponseCode: the card can be edited once more (72 h)."""
        code, task, user = fields.get("ResponseCode"), fields.get("TaskId"), fields.get("FromUserName")
        if code and task and user:
            await self.store.put(f"wecom:card:{task}:{str(user).lower()}", code,
                                 datetime.now(timezone.utc) + CODE_TTL)

    def parse(self, raw: dict[str, Any], received_at: datetime) -> Inbound | None:
        if "oauth" in raw:  # a member opened an invite's OAuth link: /start TOKEN from them
            return oauth.inbound(raw, received_at)
        fields = xmlmsg.read(raw["xml"])
        kind, event = str(fields.get("MsgType", "")).lower(), str(fields.get("Event", "")).lower()
        if not kind or (kind == "event" and event not in HANDLED_EVENTS):
            return None  # enter_agent, LOCATION reports, photo-menu notices, contact changes…: whoever they name
        user = fields.get("FromUserName")
        if not isinstance(user, str) or not user:
            raise xmlmsg.BadXml("no FromUserName")
        update_id = hashlib.sha256(raw["xml"].encode("utf-8")).hexdigest()
        base = dict(channel=Channel.WECOM, update_id=update_id, session_key=session_key("wc", user, user),
                    user_id=user, chat_id=user, received_at=received_at, private=True, words_as_commands=True,
                    client_at=_time(fields.get("CreateTime")))
        if kind == "text":
            text = str(fields.get("Content", ""))
            if text.startswith("/"):
                head, _, rest = text.partition(" ")
                return Inbound(**base, command=head[1:].lower() or None, args=rest.strip())
            return Inbound(**base, text=text)
        if kind == "image":
            return Inbound(**base, photos=[Photo(file_ref=str(fields.get("MediaId", "")))])
        if kind == "location":
            return Inbound(**base, location=Location(xmlmsg.number(fields, "Location_X"),
                                                     xmlmsg.number(fields, "Location_Y")))
        if kind != "event":  # voice, video, a file, a link…: answered as on Telegram (the dialog's ask, or help)
            return Inbound(**base)
        if event == "template_card_event":
            return Inbound(**base, callback_data=str(fields.get("EventKey", "")),
                           callback_id=str(fields.get("ResponseCode", "")) or None,
                           message_id=str(fields.get("TaskId", "")) or None)
        if event == "click":
            key = str(fields.get("EventKey", ""))
            if key.startswith("cmd:"):
                return Inbound(**base, command=key[4:] or None)
            return None
        if event == "location_select":
            info = fields.get("SendLocationInfo")
            info = info if isinstance(info, dict) else {}
            return Inbound(**base, location=Location(xmlmsg.number(info, "Location_X"),
                                                     xmlmsg.number(info, "Location_Y")))
        return None

    # -- out ----------------------------------------------------------------------------------
    async def send(self, chat_id: str, message: Outbound) -> str | None:
        try:
            return await self._send(chat_id, message)
        except DeliveryError:
            raise
        except Exception as exc:
            error = delivery_error(exc)
            if error is None:
                raise
            raise error from None

    async def _send(self, user: str, message: Outbound) -> str | None:
        sent = None
        for photo in message.photos:
            sent = await self._image(user, photo)
        document = message.document or {}
        if document.get("path") and self.media_root is not None:  # a file message, the text after it
            media_id = await self.client.upload_file(self.media_root / document["path"],
                                                     document.get("filename") or "document.pdf",
                                                     document.get("mime") or "application/pdf")
            sent = (await self._post(user, {"msgtype": "file", "file": {"media_id": media_id}})).get("msgid")
        message, long_text = card_text(message) if message.buttons else (message, None)
        if message.edit_message_id and long_text is None:
            edited = await self._edit(user, message)
            if edited:
                return message.edit_message_id
        for piece in split_bytes(long_text) if long_text else []:  # too long for a card: before it
            await self._post(user, {"msgtype": "text", "text": {"content": piece}})
        if message.buttons:
            return await self._card(user, message)
        for piece in split_bytes(message.text) if message.text else []:
            sent = (await self._post(user, {"msgtype": "text", "text": {"content": piece}})).get("msgid")
        return sent

    async def _post(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        data = await self.client.call("/cgi-bin/message/send",
                                      {"touser": user, "agentid": self.config.agent_id, **body})
        if data.get("invaliduser"):
            raise DeliveryError("permanent", f"not a member of the app: {data['invaliduser']}")
        return data

    async def _image(self, user: str, photo: dict[str, Any]) -> str | None:
        if photo.get("channel") == Channel.WECOM.value and photo.get("file_ref"):
            media_id = photo["file_ref"]
        elif photo.get("path") and self.media_root is not None:
            media_id = await self.client.upload_image(self.media_root / photo["path"])
        else:
            return None
        return (await self._post(user, {"msgtype": "image", "image": {"media_id": media_id}})).get("msgid")

    async def _card(self, user: str, message: Outbound) -> str:
        task_id = f"fb-{uuid.uuid4().hex}"
        data = await self._post(user, {"msgtype": "template_card", "template_card": card_body(message, task_id),
                                       "enable_duplicate_check": 0})
        if data.get("response_code"):
            await self.store.put(f"wecom:card:{task_id}:{user.lower()}", data["response_code"],
                                 datetime.now(timezone.utc) + CODE_TTL)
        return task_id

    async def _edit(self, user: str, message: Outbound) -> bool:
        """Edit a card in place with its latest unused response code; False: send anew instead."""
        task_id = message.edit_message_id
        code = await self.store.pop(f"wecom:card:{task_id}:{user.lower()}")
        if code is None:
            return False
        card = card_body(message, task_id)
        if not message.buttons:  # a finished card: its buttons greyed out, the new text shown
            card = {**card, "button_list": [{"text": "✓", "style": 1, "key": "done"}],
                    "replace_text": (message.text or "✓")[:10]}
        try:
            await self.client.call("/cgi-bin/message/update_template_card",
                                   {"userids": [user], "agentid": self.config.agent_id, "response_code": code,
                                    "template_card": card})
        except Exception as exc:
            log.info("editing WeCom card %s failed (%s); sending anew", task_id, exc)
            return False
        return True

    async def download(self, file_ref: str) -> bytes:
        return await self.client.download(file_ref)

    async def close(self) -> None:
        await self.client.close()


def _time(value: Any) -> datetime | None:  # noqa: ANN401
    try:
        return datetime.fromtimestamp(int(value), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):  # OSError: beyond the platform's time_t
        return None
