"""A local Telegram Bot API emulator for the demo and the tests.

Why: Fieldbot's tests drive the real aiogram HTTP client and dispatcher against a server
that behaves like api.telegram.org (URLs, parameters, errors, long polling, webhooks, flood
limits), with a control API to play the users and inspect what the bot sent.

    async with BotApiEmulator() as emu:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        emu.send_command(42, "start", first_name="Li", language_code="zh-hans")
        ...
        [reply] = await emu.wait_for_messages(42, 1)

Modules: server (BotApiEmulator, run_emulator), users (user-side actions, raw updates),
observe (inspection, waits, faults), control (HTTP /_control), messaging and updates (Bot API
methods), spec (parameter validation against the Bot API's api.json, shipped in botapi/),
formatting (parse_mode), markup, limits (faults, storms, flood limits), webhook, wire, state,
errors.
"""

from .limits import RateLimits
from .server import BotApiEmulator, run_emulator

__all__ = ["BotApiEmulator", "RateLimits", "run_emulator"]
