"""The hot path: the common update — a typed answer to an open dialog step that only stores the
answer and replies — handled in plain SQL (one unit, no ORM): in SQLite's writer thread, or on
the update's own PostgreSQL connection.

Why: most traffic is engineers typing notes into an open dialog; through the ORM each costs
~10 statements of ~0.3 ms of Python each on the single writer.  Here it is ~7 plain statements
(inbox, who, dialog, ticket, dialog write, reply row) of ~20 µs.

It changes no rule.  A flow opts a step in with ``@routes.hot(flow, step)``: an async function of a
:class:`HotView` returning the reply (:class:`~handlers.messages.Msg`), or None when the answer
is anything but the plain case — then nothing was written (the hot path decides before it
writes) and the update goes the ordinary way (:class:`handlers.core.Core`, the step itself), which stays the
reference.  So does everything unusual about the sender: not joined, inactive, unreachable, a
new chat, an earlier update of the session still pending, a non-private chat, a command, a
button, a photo, a location.  What it writes is what the ordinary way writes for the same update:
the inbox row closed, ``last_seen_at``, the dialog (with the question kept for **Continue**,
:func:`handlers.midway.remember`), one reply row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from handlers import midway
from handlers.channel import Inbound
from handlers.i18n import normalise_language
from models import hot
from models.enums import Role
from models.writer import FALLBACK

if TYPE_CHECKING:
    from handlers.registry import Router

#: ``last_seen_at`` (which of a person's chats pushes go to) is kept to this precision.
SEEN_GRANULARITY = timedelta(seconds=60)


@dataclass
class HotView:
    """What a hot step sees: the sender, the dialog, the typed text — and a plain-SQL look-up of
    the ticket the dialog is about.  ``goto`` has :meth:`handlers.context.Ctx.goto`'s meaning."""

    inbound: Inbound
    person_id: int
    role: Role
    team_id: int | None
    lang: str
    flow: str | None
    step: str | None
    data: dict[str, Any]
    now: datetime
    _q: hot.Sql = field(repr=False)

    @property
    def text(self) -> str:
        return self.inbound.text or ""

    async def ticket(self, ticket_id: object) -> hot.TicketBrief | None:
        return await hot.ticket_brief(self._q, ticket_id)

    def goto(self, flow: str, step: str, **data: Any) -> None:
        merged = dict(self.data) if self.flow == flow else {}
        merged.update(data)
        self.flow, self.step, self.data = flow, step, merged


def eligible(inbound: Inbound, router: Router) -> bool:
    """Cheap test before the writer is asked: a plain typed text from a person in a private chat."""
    return bool(router.hot_steps) and bool(inbound.text) and inbound.command is None \
        and inbound.callback_data is None and not inbound.photos and inbound.location is None \
        and inbound.private and not inbound.impersonal and inbound.reply_to is None


async def run(q: hot.Sql, inbound: Inbound, router: Router, default_lang: str,
              handled_at: datetime) -> Any:  # noqa: ANN401
    """Handle ``inbound`` in plain SQL; FALLBACK if it is not the plain case.  Returns the toast
    (always None: a typed text has no button to answer)."""
    if inbound.inbox_id is not None and await hot.earlier_pending(q, inbound.session_key, inbound.inbox_id):
        return FALLBACK
    who = await hot.asker(q, inbound.channel, inbound.user_id)
    if who is None or not who.active or who.unreachable or who.chat_id != inbound.chat_id:
        return FALLBACK
    row = await hot.dialog(q, inbound.session_key)
    if row is None or not row.flow or (row.flow, row.step or "") not in router.steps:
        return FALLBACK
    step = router.hot_steps.get((row.flow, row.step or ""))
    if step is None:
        return FALLBACK
    if who.language:
        lang = who.language
    else:
        lang = normalise_language(inbound.language, default_lang) if inbound.language else default_lang
    view = HotView(inbound=inbound, person_id=who.person_id, role=who.role, team_id=who.team_id, lang=lang,
                   flow=row.flow, step=row.step, data=dict(row.data), now=inbound.received_at, _q=q)
    before = midway.dialog_snapshot(row.flow, row.step, row.data)
    msg = await step(view)
    if msg is None:
        return FALLBACK
    out = msg.render(lang, view.now)
    if out.photos:
        return FALLBACK
    payload = out.to_payload()
    # Nothing is written before this point: FALLBACK above leaves the transaction as it was.
    if not await hot.close_inbox(q, inbound.channel, inbound.update_id, received_at=inbound.received_at,
                           now=handled_at):
        return None  # a resend, or handled by another instance: dropped
    if inbound.received_at - who.last_seen_at >= SEEN_GRANULARITY:
        await hot.seen(q, who.identity_id, inbound.received_at)
    data = view.data
    if view.flow and midway.dialog_snapshot(view.flow, view.step, data) != before:
        data = midway.keep_question(data, payload, None)
    await hot.save_dialog(q, inbound.session_key, hot.DialogRow(flow=view.flow, step=view.step, data=data,
                                                             version=row.version), view.now)
    await hot.add_outbox(q, person_id=who.person_id, channel=inbound.channel, chat_id=inbound.chat_id, payload=payload,
                   dedupe=f"in:{inbound.channel.value}:{inbound.update_id}:1", now=view.now, purpose="reply")
    return None
