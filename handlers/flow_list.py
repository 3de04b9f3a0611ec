"""The conversation flows the bot runs, for the composition root (:func:`handlers.registry.build_router`).

The order is the order of each role's command menu: the day's work first (dispatch and
registration, the boards, the engineer's tickets), then follow-up and look-ups, and help,
language and cancel last.
"""

from handlers.flows import (  # isort: skip
    dispatch,
    register,
    reassign,
    supervisor,
    links,
    board,
    engineer,
    checkins,
    parts,
    signoff,
    customer,
    complaints,
    callback,
    ratings,
    cancel,
    edit,
    report,
    kb,
    service_report,
    start,
)

FLOWS = (dispatch, register, reassign, supervisor, links, board, engineer, checkins, parts, signoff, customer,
         complaints, callback, ratings, cancel, edit, report, kb, service_report, start)
