"""A local WeCom (企业微信) emulator for the WeCom adapter's tests and the demo (PROTOCOL.md §9).

Why: the adapter talks to WeCom's ``/cgi-bin`` API and receives encrypted callbacks; neither can be
reached offline. This is an aiohttp server the adapter talks to unchanged (only its base URL
setting points here), plus a device side that plays members and WeChat customers by calling the
bot's callback URL exactly as WeCom does (encrypted with its own :mod:`.crypto`, signed,
retried), plus a control API (Python, and HTTP at ``/_control/<action>``) to inspect and to turn
fault knobs.

    async with WeComEmulator(callback_url="http://127.0.0.1:8080/wecom/cb") as emu:
        settings = emu.settings()          # base_url, corp_id, agent_id, secret, token, encoding_aes_key
        await emu.user_text("zhangsan", "/bind 483920")
        [reply] = await emu.wait_for_messages("zhangsan", 1)

Modules: server (WeComEmulator, run_wecom_emulator), access (gettoken, token checks, OAuth),
messages (message/send, recall), cards (template cards, update_template_card), media, menus, kf
(微信客服 API), callbacks (delivery to the bot, passive replies, URL check), device (members'
actions), browser (opening an app's OAuth link), customers (kf customers' actions), observe
(inspection, waits, knobs), faults, control, state, wire, errors. See README.md for what is
emulated and where each fact comes from.
"""

from .server import WeComEmulator, run_wecom_emulator

__all__ = ["WeComEmulator", "run_wecom_emulator"]
