"""The views: ``/tickets`` (engineer), ``/board`` (dispatcher, supervisor, manager) and
``/pending`` (supervisor) — one message each, grouped as the regulations name them (DESIGN §2:
mine / to follow / paused / closed), overdue tickets first in every group, each with its running
SLA clocks' due times (team time zone) and the time left or overdue.

Who sees what, and why:

* **Engineer** (``/tickets``, built by :func:`engineer_board`): *mine* = assigned to them and
  active (dispatched to them, accepted, on the way, on site); *to follow* = resolved, waiting for
  the customer's sign-off; *paused*; *closed* = closed or cancelled in the last 7 days.  Each
  line's button (``card:TICKET``) opens the ticket's card with the actions valid now.
* **Desk** (``/board``), scoped to the person's team (plus unteamed tickets, as ``/dispatch``):
  *complaints to answer* first (open complaints, oldest first, **Answer** = ``cpa:COMPLAINT``);
  *to follow* = open tickets that need the desk: not dispatched, not accepted, waiting for
  sign-off, or with an overdue clock; *mine* = the rest of the tickets being worked on — for a
  dispatcher only those they registered or dispatched (their own follow-ups), for a supervisor
  or manager the whole team's, because the team lead answers for every job of the team;
  *paused*; *closed* in the last 7 days.  Groups are disjoint, so a ticket shows once, where it
  needs attention.  Each line's button (``bdt:TICKET``) shows the ticket as ``/ticket`` does.
* **Supervisor** (``/pending``): their own unacknowledged check-ins, oldest first, each with
  **Acknowledge** — the supervisor flow's ``ack:CHECKIN`` button, so the same checks apply.

Long lists are paged (:mod:`handlers.boards`) with ◀ / ▶ buttons carrying the page (``tks:N``,
``brd:N``, ``pnd:N``).  A press re-runs the queries (:mod:`models.board`) for the person pressing
(a button is only a pointer), clamps the page to what exists now (the list may have shrunk since),
and edits the pressed message in place when it is one of ours; otherwise it answers anew.
"""

from __future__ import annotations

from handlers.boards import DESK, desk_board, engineer_board, pending_board, pressed_page
from handlers.context import Ctx
from handlers.dialogs import button_arg, visible_ticket
from handlers.registry import Routes
from handlers.ticket_page import ticket_message
from models.enums import Role

routes = Routes()

ENGINEER = frozenset({Role.ENGINEER})
SUPERVISOR = frozenset({Role.SUPERVISOR})


@routes.callback("tks", roles=ENGINEER)
async def engineer_page(ctx: Ctx) -> None:
    await engineer_board(ctx, pressed_page(ctx))


@routes.command("board", roles=DESK, menu="board.menu.board")
async def board_command(ctx: Ctx) -> None:
    await desk_board(ctx)


@routes.callback("brd", roles=DESK)
async def board_page(ctx: Ctx) -> None:
    await desk_board(ctx, pressed_page(ctx))


@routes.callback("bdt", roles=DESK)
async def open_ticket(ctx: Ctx) -> None:
    """A board line's button: the ticket as ``/ticket NUMBER`` shows it (team re-checked here)."""
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    ctx.reply(await ticket_message(ctx, ticket), ticket_id=ticket.id)


@routes.command("pending", roles=SUPERVISOR, menu="board.menu.pending")
async def pending_command(ctx: Ctx) -> None:
    await pending_board(ctx)


@routes.callback("pnd", roles=SUPERVISOR)
async def pending_page(ctx: Ctx) -> None:
    await pending_board(ctx, pressed_page(ctx))
