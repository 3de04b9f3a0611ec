"""A tiny round-robin load balancer in front of the bot instances' webhook servers.

Telegram (the emulator) posts each update to the proxy; the proxy forwards it to the next
instance and passes the answer back.  An instance that refuses (connection refused or cut, a
timeout, a 5xx: it is dead or could not store the update) is skipped and the next one tried, so
Telegram gets its 2xx as soon as any live instance has stored the update; if none answers, 502
and Telegram retries later.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import aiohttp
from aiohttp import web


class RoundRobin:
    def __init__(self, port: int, backends: list[int], path: str = "/telegram", timeout: float = 8.0):
        self.port = port
        self.backends = backends
        self.path = path
        self.timeout = timeout
        self.forwarded: dict[int, int] = {b: 0 for b in backends}
        self.refused: dict[int, int] = {b: 0 for b in backends}
        self.failed = 0  # requests no instance took (answered 502)
        #: per update (by :func:`tests.fault.load.update_key`): its id, who stored it (the port
        #: that answered 2xx), who refused it, and when
        self.deliveries: dict[tuple, dict] = {}
        self._next = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post(self.path, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        record = self._record(body)
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")}
        start = next(self._next)
        for i in range(len(self.backends)):
            port = self.backends[(start + i) % len(self.backends)]
            try:
                async with self._session.post(f"http://127.0.0.1:{port}{self.path}", data=body,
                                              headers=headers) as resp:
                    payload = await resp.read()
                    if resp.status >= 500:
                        self.refused[port] += 1
                        if record is not None:
                            record["refused"].append((port, time.time()))
                        continue
                    self.forwarded[port] += 1
                    if record is not None and 200 <= resp.status < 300:
                        record["stored_by"] = port
                    return web.Response(status=resp.status, body=payload,
                                        content_type=resp.content_type if payload else None)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                self.refused[port] += 1
                if record is not None:
                    record["refused"].append((port, time.time()))
        self.failed += 1
        return web.Response(status=502, text="no instance took the update")

    def _record(self, body: bytes) -> dict | None:
        from tests.fault.load import update_key

        try:
            update = json.loads(body)
            key = update_key(update)
        except (ValueError, TypeError, AttributeError):
            return None
        record = self.deliveries.setdefault(key, {"update_id": update.get("update_id"), "stored_by": None,
                                                  "refused": [], "first": time.time()})
        return record
