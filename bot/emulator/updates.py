"""Bot API methods about the bot itself: identity, update delivery, webhook, commands.

Why separate from messaging: these govern *how* updates reach the bot (long polling vs
webhook, with Telegram's 409 conflicts) and the command menu per scope, which the bot sets
at start-up; messaging is about chat content.
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any

from .errors import POLL_CONFLICT, WEBHOOK_CONFLICT, ApiError, bad_request

if TYPE_CHECKING:
    from .server import BotApiEmulator


class Described:
    """A result plus the ``description`` Telegram adds to some successful replies."""

    def __init__(self, result: Any, description: str) -> None:
        self.result = result
        self.description = description

COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
SCOPES_WITH_CHAT = {"chat", "chat_administrators", "chat_member"}
SCOPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"} | SCOPES_WITH_CHAT


def get_me(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(emu.world.bot_user)


async def get_updates(emu: BotApiEmulator, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Long polling: confirm by offset, then wait up to ``timeout`` s for something to return.

    A newer getUpdates call ends a pending one with 409, as Telegram does when two bot
    instances poll the same token.
    """
    world = emu.world
    if world.webhook:
        raise ApiError(409, WEBHOOK_CONFLICT)
    if "allowed_updates" in p:
        world.allowed_updates = [str(t) for t in p["allowed_updates"]]
    if "offset" in p:
        world.confirm_updates(p["offset"])
    limit = min(max(p.get("limit", 100), 1), 100)
    offset = p.get("offset", 0)
    timeout = min(max(p.get("timeout", 0), 0), 50)
    emu.poll_generation += 1
    generation = emu.poll_generation
    world.changed.notify()  # wake an older poll so it can see it was superseded

    def ready() -> list[dict[str, Any]] | bool:
        if generation != emu.poll_generation or world.closed or world.webhook:
            return True
        return [u for u in world.updates if u["update_id"] >= offset][:limit]

    found = await world.changed.wait_for(ready, timeout) if timeout else ready()
    if generation != emu.poll_generation:
        raise ApiError(409, POLL_CONFLICT)
    if isinstance(found, list):
        return copy.deepcopy(found)
    return []


def set_webhook(emu: BotApiEmulator, p: dict[str, Any]) -> Described:
    url = p["url"]
    if url == "":  # Telegram: an empty URL removes the webhook
        return delete_webhook(emu, {"drop_pending_updates": p.get("drop_pending_updates", False)})
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: an HTTP(S) URL must be provided for webhook")
    secret = p.get("secret_token")
    if secret is not None and not SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = p.get("max_connections", 40)
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    if p.get("drop_pending_updates"):
        emu.world.updates.clear()
    previous = emu.world.webhook or {}
    allowed = p.get("allowed_updates", previous.get("allowed_updates", emu.world.allowed_updates))
    emu.world.webhook = {"url": url, "secret_token": secret, "max_connections": max_connections,
                         "allowed_updates": list(allowed or []), "ip_address": "127.0.0.1",
                         "last_error_date": None, "last_error_message": None}
    emu.webhook_changed()
    return Described(True, "Webhook was set")


def delete_webhook(emu: BotApiEmulator, p: dict[str, Any]) -> Described:
    was_set = emu.world.webhook is not None
    emu.world.webhook = None
    if p.get("drop_pending_updates"):
        emu.world.updates.clear()
    emu.webhook_changed()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


def get_webhook_info(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    hook = emu.world.webhook
    info: dict[str, Any] = {"url": hook["url"] if hook else "", "has_custom_certificate": False,
                            "pending_update_count": len(emu.world.updates)}
    if hook:
        info["max_connections"] = hook["max_connections"]
        info["ip_address"] = hook["ip_address"]
        if hook["allowed_updates"]:
            info["allowed_updates"] = hook["allowed_updates"]
        if hook["last_error_date"]:
            info["last_error_date"] = hook["last_error_date"]
            info["last_error_message"] = hook["last_error_message"]
    return info


def scope_key(emu: BotApiEmulator, scope: dict[str, Any] | None) -> str:
    """Canonical JSON of a BotCommandScope, checking its type and chat."""
    scope = dict(scope or {"type": "default"})
    kind = scope.get("type")
    if kind not in SCOPES:
        raise bad_request(f"unsupported bot command scope type {kind!r}")
    if kind in SCOPES_WITH_CHAT:
        if "chat_id" not in scope:
            raise bad_request(f"bot command scope {kind!r} requires chat_id")
        chat_id = scope["chat_id"]
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = scope["chat_id"] = int(chat_id)
        emu.world.target_chat(chat_id)
    return json.dumps(scope, sort_keys=True)


def set_my_commands(emu: BotApiEmulator, p: dict[str, Any]) -> bool:
    commands = p["commands"]
    if len(commands) > 100:
        raise bad_request("too many commands: at most 100 are allowed")
    clean = []
    for command in commands:
        if not isinstance(command, dict) or not COMMAND_RE.match(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        description = str(command.get("description", ""))
        if not 1 <= len(description) <= 256:
            raise bad_request("command description must be 1-256 characters")
        clean.append({"command": command["command"], "description": description})
    emu.world.commands[(scope_key(emu, p.get("scope")), p.get("language_code", ""))] = clean
    return True


def get_my_commands(emu: BotApiEmulator, p: dict[str, Any]) -> list[dict[str, Any]]:
    key = (scope_key(emu, p.get("scope")), p.get("language_code", ""))
    return copy.deepcopy(emu.world.commands.get(key, []))


def delete_my_commands(emu: BotApiEmulator, p: dict[str, Any]) -> bool:
    emu.world.commands.pop((scope_key(emu, p.get("scope")), p.get("language_code", "")), None)
    return True


HANDLERS = {
    "getMe": get_me,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
}
