"""The conversation flows.  Importing this package registers every flow on
:data:`handlers.registry.router`; the composition root does it once."""

from handlers.flows import (  # noqa: F401
    board,
    callback,
    checkins,
    complaints,
    customer,
    dispatch,
    engineer,
    kb,
    parts,
    reassign,
    report,
    register,
    signoff,
    start,
    supervisor,
)
