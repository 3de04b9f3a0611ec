"""Pushing updates to the bot's webhook, like Telegram does once setWebhook is called.

Why: the production deployment may run behind a webhook; this exercises the bot's real
aiohttp webhook handler, including the ``X-Telegram-Bot-Api-Secret-Token`` check and the
"reply with a method call in the response body" shortcut aiogram uses. Delivery is in
order, one update at a time; a failed delivery is recorded in getWebhookInfo
(last_error_date / last_error_message) and retried with a capped backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from .wire import read_multipart

if TYPE_CHECKING:
    from .server import BotApiEmulator

log = logging.getLogger(__name__)
RETRY_FIRST, RETRY_MAX = 0.2, 5.0
DELIVERY_TIMEOUT = 10.0


class WebhookDelivery:
    """One background task per webhook configuration; restarted on every change."""

    def __init__(self, emu: BotApiEmulator) -> None:
        self.emu = emu
        self.session: aiohttp.ClientSession | None = None
        self.task: asyncio.Task[None] | None = None

    def restart(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
        hook = self.emu.world.webhook
        if hook is not None and self.session is not None:
            self.task = asyncio.get_running_loop().create_task(self._run(hook), name="emulator-webhook")

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT))
        self.restart()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def _run(self, hook: dict[str, Any]) -> None:
        world = self.emu.world
        delay = RETRY_FIRST
        while world.webhook is hook and not world.closed:
            if not world.updates:
                # world.closed in the predicate too: on Python 3.11 a cancel that races a notify can be
                # swallowed by asyncio.wait_for, and the stop must not then sit out the 30 s wait.
                await world.changed.wait_for(lambda: world.updates or world.webhook is not hook or world.closed, 30)
                continue
            update = world.updates[0]
            error = await self._post(hook, update)
            if error is None:
                if world.updates and world.updates[0] is update:
                    world.updates.pop(0)
                    world.changed.notify()
                delay = RETRY_FIRST
                continue
            hook["last_error_date"], hook["last_error_message"] = world.now(), error
            world.changed.notify()
            log.info("webhook delivery of update %s failed: %s", update["update_id"], error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _post(self, hook: dict[str, Any], update: dict[str, Any]) -> str | None:
        """POST one update; return an error text, or None once the bot accepted it."""
        assert self.session is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
        try:
            async with self.session.post(hook["url"], json=update, headers=headers) as resp:
                if not 200 <= resp.status < 300:
                    return f"Wrong response from the webhook: {resp.status} {resp.reason}"
                await self._run_reply_method(resp)
        except asyncio.TimeoutError:
            return "Connection timed out"
        except aiohttp.ClientError as exc:
            return f"Connection failed: {type(exc).__name__}"
        return None

    async def _run_reply_method(self, resp: aiohttp.ClientResponse) -> None:
        """Execute a Bot API call the bot put in its webhook reply (JSON or multipart)."""
        if resp.content_type == "application/json":
            try:
                body = json.loads(await resp.text() or "{}")
            except ValueError:
                return
            uploads: dict = {}
        elif resp.content_type.startswith("multipart/"):
            body, uploads = await read_multipart(aiohttp.MultipartReader.from_response(resp))
        else:
            return
        if isinstance(body, dict) and body.get("method"):
            fields = {k: v for k, v in body.items() if k != "method"}
            await self.emu.execute(str(body["method"]), fields, uploads, via="webhook reply")
