"""Messages as data until the recipient is known: a catalog key, parameters and buttons, rendered
in each recipient's own language (a push to a Chinese-speaking supervisor from an English-speaking
engineer is written in Chinese) — and for the moment they see it: ``seen`` (when a reply is written, or
when a push held for quiet hours goes out) words the times in it (:class:`handlers.times.When`: "08:30
tomorrow" read tonight is "08:30" read in the morning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.channel import Button, Outbound
from handlers.i18n import t


@dataclass(frozen=True)
class L:
    """A parameter that is itself translated: ``L("status.on_site")``."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return t(lang, self.key, **_resolve(lang, self.params, seen))


@dataclass(frozen=True)
class Raw:
    """Text that is not translated (a name, a number, what a person typed)."""

    text: str

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return self.text


def _resolve(lang: str, params: dict[str, Any], seen: datetime | None) -> dict[str, Any]:
    """Parameters as text: anything renderable (``L``, ``Raw``, ``Lines``, ``When``…) rendered."""
    return {k: v.render(lang, seen) if hasattr(v, "render") else v for k, v in params.items()}


@dataclass(frozen=True)
class Listed:
    """Names or items in a running sentence, joined the reader's way: "Wang Wei, Zhang Min",
    "王伟、张敏" (``list.sep``); ``more`` adds "…" for items left out."""

    items: tuple[Any, ...]  # text, or renderables (an ``L``)
    more: bool = False

    def render(self, lang: str, seen: datetime | None = None) -> str:
        shown = (item.render(lang, seen) if hasattr(item, "render") else str(item) for item in self.items)
        return t(lang, "list.sep").join(shown) + ("…" if self.more else "")


@dataclass(frozen=True)
class Lines:
    """Several translated pieces joined by newlines (cards, lists)."""

    parts: tuple[Any, ...]

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return "\n".join(p.render(lang, seen) if hasattr(p, "render") else str(p) for p in self.parts if p)


@dataclass
class Msg:
    key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # an L / Lines / Raw used instead of key+params
    #: (label, data); the label is a catalog key, or an ``L``/``Raw`` (e.g. a person's name).
    buttons: list[list[tuple[Any, str]]] = field(default_factory=list)
    request_location: str | None = None  # label key
    remove_keyboard: bool = False
    photos: list[dict[str, Any]] = field(default_factory=list)
    edit_message_id: str | None = None
    secret: bool = False  # see Outbound.secret
    #: A file to send with the text as its caption (see Outbound.document); ``document_fallback``
    #: is said instead on a channel that cannot send files.
    document: dict[str, Any] | None = None
    document_fallback: Any = None

    def render(self, lang: str, seen: datetime | None = None) -> Outbound:
        """The message in ``lang``, its times worded for a reader who sees it at ``seen``."""
        if self.body is not None:
            text = self.body.render(lang, seen)
        else:
            text = t(lang, self.key, **_resolve(lang, self.params, seen)) if self.key else ""
        return Outbound(
            text=text,
            buttons=[[Button(label=label.render(lang) if hasattr(label, "render") else t(lang, label), data=data)
                      for label, data in row] for row in self.buttons],
            photos=self.photos,
            request_location=t(lang, self.request_location) if self.request_location else None,
            location_hint=t(lang, "common.location_hint") if self.request_location else None,
            lang=lang,
            remove_keyboard=self.remove_keyboard,
            edit_message_id=self.edit_message_id,
            secret=self.secret,
            document=self._document(lang, seen),
        )

    def _document(self, lang: str, seen: datetime | None) -> dict[str, Any] | None:
        if self.document is None:
            return None
        fallback = self.document_fallback.render(lang, seen) if self.document_fallback is not None else ""
        return {**self.document, "lang": lang, "fallback": fallback}
