"""What a WeCom message looks like: text cut at WeCom's 2048 bytes, and a ``template_card`` of type
``button_interaction`` for a message with buttons (PROTOCOL.md §3.2).

A card has a short title (the message's first line, cut at 36 characters; then the whole text
below it), the rest of the text as it is below the title (its blank lines and indents kept; a text
too long for a card goes before it as text, :func:`card_text`), and at
most 6 buttons whose text WeCom wants within 10 characters: one long label is
cut, several long labels become numbers with the full options listed in the card's text.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.channel import Outbound

TEXT_BYTES = 2048
BUTTON_TEXT = 10  # characters WeCom suggests for a card button
CARD_TEXT = 1000  # characters of text the adapter puts below a card's title


def card_text(message: Outbound) -> tuple[Outbound, str | None]:
    """A message whose text would be cut on a card: the whole text to send first as text, and the
    card with only its first line (the buttons under it).  Else the message as it is, and None."""
    lines = message.text.split("\n") if message.text else [""]
    if len("\n".join(lines[1:])) + 200 <= CARD_TEXT:  # room for numbered long labels
        return message, None
    return replace(message, text=lines[0]), message.text


def split_bytes(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes, at line breaks where possible."""
    pieces, current = [], ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(line.encode("utf-8")) > limit:
            cut = limit
            while len(line[:cut].encode("utf-8")) > limit:
                cut -= 1
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not pieces:
        pieces.append(current)
    return pieces


def card_body(message: Outbound, task_id: str) -> dict[str, Any]:
    lines = message.text.split("\n") if message.text else [""]
    buttons = [b for row in message.buttons for b in row]
    labels = [b.label for b in buttons]
    extra: list[str] = []
    if len(labels) == 1 and len(labels[0]) > BUTTON_TEXT:  # one long label: cut
        labels = [labels[0][:BUTTON_TEXT - 1] + "…"]
    elif any(len(label) > BUTTON_TEXT for label in labels):  # long labels: numbered in the text
        extra = [f"{n}. {label}" for n, label in enumerate(labels, 1)]
        labels = [str(n) for n in range(1, len(labels) + 1)]
    title = lines[0] if len(lines[0]) <= 36 else lines[0][:35] + "…"
    card = {"card_type": "button_interaction", "task_id": task_id,
            "main_title": {"title": title or "Fieldbot"},
            "button_list": [{"text": label, "style": 1, "key": b.data} for label, b in zip(labels, buttons)]}
    body = lines[1:] if title == lines[0] else lines  # a cut title: the whole text below it
    # Only trailing space goes: a blank line after the heading and an indented first line stay,
    # so the card says exactly what the message says.
    rest = "\n".join([*body, *extra]).rstrip()
    if rest:
        card["sub_title_text"] = rest[:CARD_TEXT]
    return card
