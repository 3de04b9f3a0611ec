"""Where flows register what they answer: commands, button actions, dialog steps, replies.

A flow module declares ``@router.command("tickets", roles=ENGINEER)`` etc.; the core looks the
inbound event up here.  Roles are checked before the handler runs; assignment and ticket state
are re-checked inside it (a button is only a pointer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.enums import Role

if TYPE_CHECKING:
    from handlers.context import Ctx

Handler = Callable[["Ctx"], Awaitable[None]]
STAFF = frozenset({Role.ENGINEER, Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER})
EVERYONE = frozenset(Role)


@dataclass
class Route:
    fn: Handler
    roles: frozenset[Role] | None  # None: also people who have not joined


@dataclass
class Router:
    commands: dict[str, Route] = field(default_factory=dict)
    callbacks: dict[str, Route] = field(default_factory=dict)
    steps: dict[tuple[str, str], Handler] = field(default_factory=dict)
    reply_handlers: list[Handler] = field(default_factory=list)
    #: Shown in the chat's command menu, per role: (command, catalog key of its description).
    menus: dict[Role, list[tuple[str, str]]] = field(default_factory=dict)

    def command(self, name: str, *, roles: frozenset[Role] | set[Role] | None, menu: str | None = None):
        def register(fn: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"command /{name} registered twice")
            self.commands[name] = Route(fn, frozenset(roles) if roles is not None else None)
            if menu:
                for role in roles or EVERYONE:
                    self.menus.setdefault(role, []).append((name, menu))
            return fn

        return register

    def callback(self, action: str, *, roles: frozenset[Role] | set[Role] | None):
        def register(fn: Handler) -> Handler:
            if action in self.callbacks:
                raise ValueError(f"button action {action} registered twice")
            self.callbacks[action] = Route(fn, frozenset(roles) if roles is not None else None)
            return fn

        return register

    def step(self, flow: str, step: str):
        def register(fn: Handler) -> Handler:
            self.steps[(flow, step)] = fn
            return fn

        return register

    def on_reply(self, fn: Handler) -> Handler:
        self.reply_handlers.append(fn)
        return fn


#: The one router every flow module registers on (imported by :mod:`handlers.flows`).
router = Router()


def build_router() -> Router:
    """The router with every flow on it (for the composition root)."""
    import handlers.flows  # noqa: F401  (registers the flows on ``router``)

    return router
