"""The conversation flows.  Importing this package registers every flow on
:data:`handlers.registry.router`; the composition root does it once.

The import order is the order of each role's command menu (a module another imports registers
first): the day's work first (dispatch and registration, the boards, the engineer's tickets), then
follow-up and look-ups, and help, language and cancel last.
"""

from handlers.flows import (  # noqa: F401  isort: skip
    register,
    dispatch,
    reassign,
    supervisor,
    board,
    engineer,
    checkins,
    parts,
    signoff,
    customer,
    complaints,
    callback,
    report,
    kb,
    start,
)
