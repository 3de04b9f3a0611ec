"""Telegram-shaped API errors.

Why: aiogram decides which exception to raise from the HTTP status, the ``description`` and
``parameters.retry_after`` of the reply. Emulating those three exactly is what makes the
bot's real error handling (retry, give up, mark the user unreachable) testable offline.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error reply of the Bot API: ``{"ok": false, "error_code", "description"}``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class SpecError(ApiError):
    """A call that does not match the Bot API spec: unknown method, unknown, missing or
    mistyped parameter, or a method the emulator does not implement. Kept apart so a test
    can assert at the end that the bot never sent one (``spec_mismatches()``)."""


def spec_error(detail: str, code: int = 400) -> SpecError:
    return SpecError(code, f"Bad Request: {detail}" if code == 400 else detail)


def bad_request(detail: str) -> ApiError:
    """400 with Telegram's ``Bad Request:`` prefix, which aiogram shows as the message."""
    return ApiError(400, f"Bad Request: {detail}")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def server_error(status: int, description: str | None = None) -> ApiError:
    default = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
               504: "Gateway Timeout"}.get(status, "Internal Server Error")
    return ApiError(status, description or default)


CHAT_NOT_FOUND = "chat not found"
BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"
KICKED_FROM_GROUP = "Forbidden: bot was kicked from the group chat"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
