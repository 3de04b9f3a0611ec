"""A command or a button from another message that arrives while a dialog is open.

Nothing sent mid-dialog throws the dialog away unasked:

* ``/help`` and ``/lang`` keep the dialog as it is; ``/cancel`` leaves it (the core decides those).
* Any other command is run on trial, inside a savepoint.  If it leaves the dialog as it was — it
  only shows something: ``/board``, ``/tickets``, ``/ticket N``, ``/kb …``, ``/status`` — it
  stands, and the dialog's current question is asked again below its answer, so the person knows
  the dialog is still waiting.  If it would begin another dialog (``/new``, ``/checkin``,
  ``/reassign N``…) or end this one, the trial is rolled back and the person is asked once:
  **Leave and run /new** or **Continue the ticket registration** (the names: ``dialog.name.*``).
* A button from another message is tried the same way.  It stands when it is a step of the
  dialog (the dialog's own buttons: its run of the dialog goes on), when it ends the dialog (its
  own Done / Confirm / No comment) or when it leaves the dialog untouched (Acknowledge, Accept,
  a page of a list); then nothing is asked again — the question is still right above.  A button
  that would begin another dialog, or this one afresh (dropping what was collected), gets the
  same question as a command.
* **Continue** asks the dialog's current question again: the last question the dialog asked,
  kept with the dialog whenever it moved on (:func:`remember`).  **Leave** ends the dialog and
  runs what was sent — the command with its arguments, or the button as pressed — checked again
  as if sent just now (roles, ticket state); if that is refused, the dialog stays.

Why a trial and not a list of harmless commands: what matters is what a command does to the
dialog, which can depend on its arguments and the moment (``/checkin`` with several tickets only
shows a pick; with one it begins the check-in), and a new flow's commands need no entry anywhere.
On WeCom a word without the slash is a command only when no dialog is open (the core), so a word
typed mid-dialog stays an answer and never gets here.

What the dialog keeps for this lives in its data under ``_dialog`` (the question as sent, the
pending command or button, and a nonce: a Leave / Continue of an earlier question is refused as
out of date).  Nothing of it is written for a refusal: a refused answer moves no dialog.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from handlers.channel import Outbound
from handlers.context import Ctx
from handlers.dialogs import button_args, own_message
from handlers.i18n import catalog, preview
from handlers.messages import L, Msg, Raw
from models.errors import DomainError

#: The button code of the question's two answers: ``dlg:go:NONCE`` and ``dlg:stay:NONCE``.
CODE = "dlg"
KEY = "_dialog"
_PROBE = "_probe"

Handler = Callable[[Ctx], Awaitable[None]]


def is_open(ctx: Ctx) -> bool:
    """Whether a dialog the running bot knows is waiting at a step it can answer."""
    router = ctx.router
    return bool(ctx.flow) and router is not None and (ctx.flow, ctx.step or "") in router.steps


def snapshot(ctx: Ctx) -> tuple[str | None, str | None, str]:
    """The dialog as its flow sees it: flow, step and data (without what is kept here)."""
    return dialog_snapshot(ctx.flow, ctx.step, ctx.data)


def dialog_snapshot(flow: str | None, step: str | None, data: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """:func:`snapshot` of a dialog given as its parts (the hot path has no :class:`Ctx`)."""
    data = {k: v for k, v in data.items() if k not in (KEY, _PROBE)}
    return flow, step, json.dumps(data, sort_keys=True, default=str)


def remember(ctx: Ctx, before: tuple[str | None, str | None, str]) -> None:
    """After an update: if it moved the dialog on, keep the question it asked (its last reply)
    for **Continue**; a refused answer moves nothing and keeps nothing."""
    if not ctx.flow or snapshot(ctx) == before:
        return
    row = ctx.last_reply
    ctx.state.data = keep_question(ctx.data, row.payload if row is not None else None,
                                   row.ref if row is not None else None)


def keep_question(data: dict[str, Any], payload: dict[str, Any] | None, ref: str | None) -> dict[str, Any]:
    """The dialog's data with ``payload`` (its last reply) kept as its question (:func:`remember`)."""
    kept: dict[str, Any] = {}
    if payload is not None and not payload.get("secret") and payload.get("kind", "message") == "message":
        kept = {"ask": {k: v for k, v in payload.items() if k != "edit_message_id"}, "ref": ref}
    data = {k: v for k, v in data.items() if k != KEY}
    return {**data, KEY: kept} if kept else data


def dialog_name(ctx: Ctx) -> L:
    """The open dialog's name in the catalogs (``dialog.name.FLOW_STEP``, ``dialog.name.FLOW``)."""
    known = catalog("en")
    for key in (f"dialog.name.{ctx.flow}_{ctx.step}", f"dialog.name.{ctx.flow}"):
        if key in known:
            return L(key)
    return L("dialog.name.other")


# -- trying what was sent ------------------------------------------------------------------------
async def command(ctx: Ctx, fn: Handler) -> None:
    """A command mid-dialog (not /help, /lang, /cancel): see the module's docstring."""
    kept = await _trial(ctx, fn, button=False)
    shown, asked = ctx.last_reply, (ctx.data.get(KEY) or {}).get("ask") or {}
    if kept == "asked" and not (shown is not None and shown.payload.get("text") == asked.get("text")):
        # It only showed something (unless it was the dialog's own question): the dialog goes on.
        reask(ctx, L("dialog.back", {"dialog": dialog_name(ctx)}))
    elif kept is None:
        inbound = ctx.inbound
        _ask_leave(ctx, {"command": inbound.command, "args": inbound.args})


async def button(ctx: Ctx, fn: Handler) -> None:
    """A button pressed mid-dialog: see the module's docstring."""
    if await _trial(ctx, fn, button=True) is None:
        _ask_leave(ctx, {"button": ctx.inbound.callback_data, "message_id": ctx.inbound.message_id})


async def _trial(ctx: Ctx, fn: Handler, *, button: bool) -> str | None:
    """Run ``fn`` in a savepoint.  None: rolled back — it would begin another dialog (or this one
    afresh, or for a command end it).  Otherwise it stands: ``"asked"`` it left the dialog
    untouched, ``"restarted"`` it began the same dialog again with the same data (and asked its
    question itself), ``"moved"`` a button moved the dialog on or ended it."""
    session, original, before = ctx.session, ctx.state.data, snapshot(ctx)
    savepoint = await session.begin_nested()
    try:
        ctx.state.data = {**(original or {}), _PROBE: True}  # gone if the dialog is begun afresh
        await fn(ctx)
        untouched = _PROBE in ctx.data
        outcome = None
        if snapshot(ctx) == before:
            ctx.state.data = original  # exactly as it was
            outcome = "asked" if untouched else "restarted"
        elif button and (ctx.flow is None or untouched):
            ctx.state.data = {k: v for k, v in ctx.data.items() if k != _PROBE}
            outcome = "moved"
        if outcome is not None:
            await session.flush()
            await savepoint.commit()
            return outcome
    except BaseException:
        if savepoint.is_active:
            await savepoint.rollback()
        raise
    await savepoint.rollback()
    # What the trial changed is expired by the rollback: read the dialog (and who asks) again.
    await session.refresh(ctx.state)
    if ctx.person is not None:
        await session.refresh(ctx.person)
    ctx.toast, ctx.last_reply = None, None
    ctx.held.clear()
    return None


def _ask_leave(ctx: Ctx, pending: dict[str, Any]) -> None:
    nonce = secrets.token_hex(4)
    ctx.state.data = {**ctx.data, KEY: {**(ctx.data.get(KEY) or {}), "leave": pending, "nonce": nonce}}
    name = dialog_name(ctx)
    if "command" in pending:
        sent = "/" + pending["command"] + (" " + preview(pending["args"]) if pending["args"].strip() else "")
        text = L("dialog.ask_command", {"dialog": name, "command": Raw(sent)})
        leave = L("dialog.btn.leave_command", {"command": Raw("/" + pending["command"])})
    else:
        text, leave = L("dialog.ask_button", {"dialog": name}), L("dialog.btn.leave")
    ctx.reply(Msg(body=text, buttons=[[(leave, f"{CODE}:go:{nonce}")],
                                      [(L("dialog.btn.continue", {"dialog": name}), f"{CODE}:stay:{nonce}")]]),
              ref=f"{CODE}:{nonce}")


# -- the answer to the question ------------------------------------------------------------------
async def answer(ctx: Ctx, reroute: Handler) -> None:
    """**Leave** (``dlg:go:NONCE``) or **Continue** (``dlg:stay:NONCE``)."""
    args = button_args(ctx)
    what, nonce = (args + ["", ""])[:2]
    kept = ctx.data.get(KEY) or {}
    if what not in ("go", "stay") or not ctx.flow or not nonce or kept.get("nonce") != nonce:
        raise DomainError("dialog_stale")
    name = dialog_name(ctx)
    question = await own_message(ctx, ref=f"{CODE}:{nonce}")
    pending = kept.get("leave") or {}
    ctx.state.data = {**ctx.data, KEY: {k: v for k, v in kept.items() if k not in ("leave", "nonce")}}
    if what == "stay":
        if question:
            ctx.reply(Msg(body=L("dialog.continued", {"dialog": name}), edit_message_id=question))
        reask(ctx)
        return
    if question:
        ctx.reply(Msg(body=L("dialog.left", {"dialog": name}), edit_message_id=question))
    ctx.end_flow()
    ctx.last_reply = None
    inbound = ctx.inbound
    if "command" in pending:
        inbound.command, inbound.args = pending["command"], pending.get("args", "")
        inbound.callback_data = inbound.message_id = inbound.text = None
    elif pending.get("button"):
        inbound.callback_data, inbound.message_id = pending["button"], pending.get("message_id")
    else:
        return
    await reroute(ctx)


def reask(ctx: Ctx, head: L | None = None) -> None:
    """The dialog's current question again (as it was last asked), below ``head``."""
    kept = ctx.data.get(KEY) or {}
    ask = kept.get("ask")
    if not ask:  # a dialog begun before its questions were kept
        ctx.reply(Msg(body=L("dialog.resume", {"dialog": dialog_name(ctx)})))
        return
    out = Outbound.from_payload(ask)
    if head is not None:
        out.text = head.render(ctx.lang) + ("\n" + out.text if out.text else "")
    row = ctx._row(ctx.inbound.channel, ctx.inbound.chat_id, out, person_id=ctx.person.id if ctx.person else None,
                   dedupe=None, purpose="reply", ticket_id=None, not_before=None)
    row.ref = kept.get("ref")
