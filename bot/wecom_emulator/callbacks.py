"""Calling the bot's callback URL like WeCom does (PROTOCOL.md §1.2-§1.5, §2).

Why: the adapter's callback endpoint is tested with real HTTP, real signatures and real
ciphertext. Every delivery encrypts the plaintext XML with the crypto module, signs it over the
ciphertext, and POSTs ``<xml><ToUserName/><Encrypt/><AgentID/></xml>`` (no AgentID for kf events)
with ``msg_signature``, ``timestamp`` and ``nonce`` in the query. WeCom gives up on an answer after
**5 s** and re-delivers on a timeout or any status but 200 ("总共重试三次", read here as up to 3
re-deliveries, a setting): each re-delivery carries the same plaintext with a new nonce and a new
ciphertext, which is why the adapter must dedupe on the decrypted plaintext.

The answer body: empty (recommended) or ``success`` is fine. Anything else is decrypted as a passive
reply (``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``): ``update_button`` in answer to
a card click greys that member's card; any other reply (text, a reply to another event, an
unreadable body) is recorded as a violation, since Fieldbot answers through message/send; a
passive text is still shown to the member, as WeCom would.

The GET verification (``verify_url``) sends an encrypted ``echostr`` and expects its bare plaintext
(no quotes, no BOM, no newline) with status 200 within **1 s** (40057 on the console otherwise).

Timestamps are the emulator's fake clock, like CreateTime in the plaintext.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import aiohttp

from .crypto import CryptoError, DeviceCrypto

from .cards import apply_replace_name

if TYPE_CHECKING:
    from .server import WeComEmulator


class CallbackDelivery:
    """The emulator's HTTP client towards the bot, and the record of every delivery."""

    def __init__(self, emu: WeComEmulator) -> None:
        self.emu = emu
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def crypto(self) -> DeviceCrypto:
        emu = self.emu
        return DeviceCrypto(emu.token, emu.encoding_aes_key, emu.world.corp_id)

    def _target(self) -> tuple[str, aiohttp.ClientSession]:
        if not self.emu.callback_url:
            raise RuntimeError("no callback URL: pass callback_url= or call set_callback(url)")
        if self.session is None:
            raise RuntimeError("the emulator is not started")
        return self.emu.callback_url, self.session

    async def deliver(self, plaintext: str, *, kind: str, userid: str | None = None,
                      external_userid: str | None = None, agent: bool = True,
                      context: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST one callback, re-delivering on failure; returns the delivery record."""
        url, session = self._target()
        world, crypto = self.emu.world, self.crypto()
        record: dict[str, Any] = {"id": len(world.deliveries) + 1, "kind": kind, "userid": userid,
                                  "external_userid": external_userid, "plaintext": plaintext,
                                  "attempts": [], "delivered": False, "reply": None, "at": world.now()}
        world.deliveries.append(record)
        for attempt in range(1 + self.emu.redeliveries):
            if attempt:
                await asyncio.sleep(self.emu.retry_delay)
            stamp, nonce = str(int(world.now())), str(secrets.randbelow(10**10))
            encrypt = crypto.seal(plaintext)
            agent_xml = f"<AgentID><![CDATA[{world.agent_id}]]></AgentID>" if agent else ""
            envelope = (f"<xml><ToUserName><![CDATA[{world.corp_id}]]></ToUserName>"
                        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>{agent_xml}</xml>")
            params = {"msg_signature": crypto.signature(stamp, nonce, encrypt), "timestamp": stamp, "nonce": nonce}
            status, body, error, started = None, b"", None, time.monotonic()
            try:
                async with session.post(url, params=params, data=envelope.encode("utf-8"),
                                        headers={"Content-Type": "text/xml; charset=utf-8"},
                                        timeout=aiohttp.ClientTimeout(total=self.emu.callback_timeout)) as resp:
                    status, body = resp.status, await resp.read()
            except TimeoutError:
                error = f"no answer within {self.emu.callback_timeout}s"
            except aiohttp.ClientError as exc:
                error = f"{type(exc).__name__}: {exc}"
            record["attempts"].append({"status": status, "error": error, "nonce": nonce, "timestamp": stamp,
                                       "elapsed": round(time.monotonic() - started, 3)})
            world.changed.notify()
            if status == 200:
                record["delivered"] = True
                record["reply"] = self._passive_reply(body, kind, userid, context or {})
                break
        else:
            world.count("callbacks_given_up")
        world.changed.notify()
        return record

    def _passive_reply(self, body: bytes, kind: str, userid: str | None,
                       context: dict[str, Any]) -> dict[str, Any] | None:
        text = body.decode("utf-8", "replace").strip()
        if not text or text == "success":
            return None
        world = self.emu.world
        try:
            plain = self.crypto().open_reply(body)
            root = ET.fromstring(plain)
        except (CryptoError, ET.ParseError) as exc:
            world.violation("passive_reply_unreadable", f"answer to {kind} is neither empty nor a valid "
                            f"encrypted reply: {type(exc).__name__}: {exc}", body=text[:500])
            return {"error": type(exc).__name__}
        msgtype = (root.findtext("MsgType") or "").strip()
        reply = {"msgtype": msgtype, "plaintext": plain}
        to_user, from_user = (root.findtext("ToUserName") or "").lower(), root.findtext("FromUserName")
        if to_user != (userid or "") or from_user != world.corp_id:
            world.violation("passive_reply_direction", "a passive reply goes ToUserName=member, FromUserName=corp id",
                            plaintext=plain)
        if msgtype == "update_button" and kind == "template_card_event":
            name = root.findtext("Button/ReplaceName")
            view = world.cards.get((context.get("task_id"), userid))
            if name and view is not None:
                apply_replace_name(view, name, world.now())
                world.changed.notify()
                return reply
            world.violation("passive_reply", "update_button without Button/ReplaceName, or for a card "
                            "this member does not have", plaintext=plain)
            return reply
        world.violation("passive_reply", f"a passive {msgtype or 'unknown'} reply to {kind}: Fieldbot keeps "
                        "only update_button for card clicks and answers through message/send", plaintext=plain)
        if msgtype == "text" and userid:
            world.inbox.setdefault(userid, []).append({"via": "passive", "message": {
                "msgid": None, "msgtype": "text", "text": {"content": root.findtext("Content") or ""},
                "at": world.now(), "via": "passive", "recalled": False}})
            world.changed.notify()
        return reply

    async def verify_url(self, timeout: float = 1.0) -> dict[str, Any]:
        """The console's URL check: GET with an encrypted echostr; the bare plaintext within ``timeout``."""
        url, session = self._target()
        world, crypto = self.emu.world, self.crypto()
        expected = str(secrets.randbelow(10**19))
        echostr = crypto.seal(expected)
        stamp, nonce = str(int(world.now())), str(secrets.randbelow(10**10))
        params = {"msg_signature": crypto.signature(stamp, nonce, echostr), "timestamp": stamp,
                  "nonce": nonce, "echostr": echostr}
        status, body, error, started = None, b"", None, time.monotonic()
        try:
            async with session.get(url, params=params, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                status, body = resp.status, await resp.read()
        except TimeoutError:
            error = f"no answer within {timeout}s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"
        result = {"ok": status == 200 and body == expected.encode("ascii"), "status": status,
                  "body": body.decode("utf-8", "replace"), "expected": expected, "error": error,
                  "elapsed": round(time.monotonic() - started, 3)}
        if not result["ok"]:
            world.violation("verify_url_failed", "40057: the callback URL did not answer the bare echostr "
                            f"plaintext with 200 within {timeout}s", result=dict(result))
        return result
