"""Where flows say what they answer: commands, button actions, dialog steps, replies, and text
sent outside any dialog that a flow may recognise (a rating typed instead of pressed).

Each flow module collects its own routes — ``routes = Routes()`` and ``@routes.command("tickets",
roles=ENGINEER)`` etc. — which registers nothing anywhere: importing a flow has no side effect
(DESIGN §4.3).  The composition root puts the flows together with :func:`build_router` from an
explicit, ordered list of modules (:data:`handlers.flow_list.FLOWS`); that order is the order of
each role's command menu.  The core looks every inbound event up in the one :class:`Router`.

Roles are checked before the handler runs; assignment and ticket state are re-checked inside it
(a button is only a pointer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

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
class Routes:
    """A set of routes, filled by the decorators below: one flow module's, or (as a
    :class:`Router`) every flow's."""

    commands: dict[str, Route] = field(default_factory=dict)
    callbacks: dict[str, Route] = field(default_factory=dict)
    steps: dict[tuple[str, str], Handler] = field(default_factory=dict)
    reply_handlers: list[Handler] = field(default_factory=list)
    #: Tried, in order, for text sent while no dialog is open (before "not sure what you mean");
    #: each returns whether it took the text.
    text_handlers: list[Handler] = field(default_factory=list)
    #: Shown in the chat's command menu, per role: (command, catalog key of its description).
    menus: dict[Role, list[tuple[str, str]]] = field(default_factory=dict)
    #: The plain-SQL version of a dialog step, for the common answer only (see :mod:`handlers.hot`):
    #: a function of a :class:`handlers.hot.HotView` returning the reply, or None to run the step.
    hot_steps: dict[tuple[str, str], Any] = field(default_factory=dict)

    def command(self, name: str, *, roles: frozenset[Role] | set[Role] | None, menu: str | None = None):
        def register(fn: Handler) -> Handler:
            self._add_command(name, Route(fn, frozenset(roles) if roles is not None else None))
            if menu:
                for role in roles or EVERYONE:
                    self.menus.setdefault(role, []).append((name, menu))
            return fn

        return register

    def callback(self, action: str, *, roles: frozenset[Role] | set[Role] | None):
        def register(fn: Handler) -> Handler:
            self._add_callback(action, Route(fn, frozenset(roles) if roles is not None else None))
            return fn

        return register

    def step(self, flow: str, step: str):
        def register(fn: Handler) -> Handler:
            self.steps[(flow, step)] = fn
            return fn

        return register

    def hot(self, flow: str, step: str):
        """Register the hot version of a step (:mod:`handlers.hot`); the step itself stays the
        reference and handles everything the hot version declines."""
        def register(fn: Any) -> Any:  # noqa: ANN401
            self.hot_steps[(flow, step)] = fn
            return fn

        return register

    def on_reply(self, fn: Handler) -> Handler:
        self.reply_handlers.append(fn)
        return fn

    def on_text(self, fn: Handler) -> Handler:
        self.text_handlers.append(fn)
        return fn

    def include(self, other: Routes) -> None:
        """Add ``other``'s routes after these (its menu entries after the ones already here)."""
        for name, route in other.commands.items():
            self._add_command(name, route)
        for action, route in other.callbacks.items():
            self._add_callback(action, route)
        for key, fn in other.steps.items():
            if key in self.steps:
                raise ValueError(f"dialog step {key[0]}/{key[1]} registered twice")
            self.steps[key] = fn
        self.hot_steps.update(other.hot_steps)
        self.reply_handlers.extend(other.reply_handlers)
        self.text_handlers.extend(other.text_handlers)
        for role, entries in other.menus.items():
            self.menus.setdefault(role, []).extend(entries)

    def _add_command(self, name: str, route: Route) -> None:
        if name in self.commands:
            raise ValueError(f"command /{name} registered twice")
        self.commands[name] = route

    def _add_callback(self, action: str, route: Route) -> None:
        if action in self.callbacks:
            raise ValueError(f"button action {action} registered twice")
        self.callbacks[action] = route


class Router(Routes):
    """The routes the core dispatches on: every flow's, put together by :func:`build_router`."""


def build_router(modules: Iterable[ModuleType]) -> Router:
    """One router from the flow modules' ``routes``, in the given order (the menus' order)."""
    router = Router()
    for module in modules:
        router.include(module.routes)
    return router
