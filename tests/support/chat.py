"""Reading the chat: an engineer's ticket card as ``/tickets`` opens it, the text a card shows,
the last message in a chat."""

from __future__ import annotations

from tests.support.tickets import T
from tests.support.world import Message, World


async def card_of(w: World, uid: int, t: T) -> Message:
    """Ask for the ticket list (one message, see ``handlers/flows/board.py``), press ``t``'s line
    button and return the card it opens."""
    w.say(uid, "/tickets")
    [listing] = await w.quiet(uid)
    if not w.shows(listing, t.number):
        raise AssertionError(f"no line for {t.number}: {listing.buttons}")
    w.press(uid, listing, t.number)
    [card] = await w.quiet(uid)
    assert card.text.startswith(t.number), card.text
    return card


def card_text(t: T, status: str, *extra: str) -> str:
    """The card of a :func:`tests.support.tickets.ticket` in ``status`` (English)."""
    return "\n".join([
        f"{t.number} · X100 · 1 River Road", f"Status: {status}", "Severity: 2 – risk of going down",
        # Registered without a contact person: the card names none (never the company).
        "Service: on-site", "Contact: +8613800138000 (no name given)", "Fault: No power", *extra,
    ])


def last_id(w: World, uid: int) -> int | str:
    """Some bot message in ``uid``'s chat, to press a forged button under."""
    return w.messages(uid)[-1].id
