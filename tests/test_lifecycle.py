"""The lifecycle table, checked exhaustively against an independent statement of the rules,
plus property tests: random action sequences never reach an invalid state, and the event log
replays to the stored status."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.enums import Action, ServiceType, TicketStatus
from models.lifecycle import (
    FINAL_STATES,
    TransitionError,
    allowed_actions,
    next_status,
    replay,
)

# The regulations' flow, written out by hand (one line per allowed move) so the test does not
# just restate the implementation's table.
ONSITE_MOVES = """
new dispatch dispatched
new cancel cancelled
dispatched accept accepted
dispatched decline new
dispatched cancel cancelled
dispatched reassign dispatched
accepted depart en_route
accepted cancel cancelled
accepted reassign dispatched
en_route arrive on_site
en_route cancel cancelled
en_route reassign dispatched
on_site pause paused
on_site resolve resolved
on_site cancel cancelled
on_site reassign dispatched
paused resume on_site
paused cancel cancelled
paused reassign dispatched
resolved sign_off signed_off
resolved reopen accepted
signed_off close closed
signed_off reopen accepted
closed reopen accepted
"""

DESK_MOVES = """
new dispatch dispatched
new cancel cancelled
dispatched accept accepted
dispatched decline new
dispatched cancel cancelled
dispatched reassign dispatched
accepted pause paused
accepted resolve resolved
accepted cancel cancelled
accepted reassign dispatched
paused resume accepted
paused cancel cancelled
paused reassign dispatched
resolved sign_off signed_off
resolved reopen accepted
signed_off close closed
signed_off reopen accepted
closed reopen accepted
"""


def _moves(text: str) -> dict[tuple[TicketStatus, Action], TicketStatus]:
    out = {}
    for line in text.strip().splitlines():
        src, action, dst = line.split()
        out[(TicketStatus(src), Action(action))] = TicketStatus(dst)
    return out


EXPECTED = {
    ServiceType.ONSITE: _moves(ONSITE_MOVES),
    ServiceType.PHONE: _moves(DESK_MOVES),
    ServiceType.REMOTE: _moves(DESK_MOVES),
}


@pytest.mark.parametrize(
    ("service", "status", "action"),
    list(itertools.product(ServiceType, TicketStatus, Action)),
    ids=lambda v: v.value,
)
def test_every_state_and_action(service: ServiceType, status: TicketStatus, action: Action) -> None:
    expected = EXPECTED[service].get((status, action))
    if expected is None:
        with pytest.raises(TransitionError) as info:
            next_status(status, action, service)
        assert info.value.status is status and info.value.action is action
        assert status.value in str(info.value) and action.value in str(info.value)
        assert info.value.code == "transition"
    else:
        assert next_status(status, action, service) is expected


def test_allowed_actions_match_the_table() -> None:
    for service, moves in EXPECTED.items():
        for status in TicketStatus:
            assert set(allowed_actions(status, service)) == {a for (s, a) in moves if s is status}


def test_final_states_allow_nothing_but_reopening_a_closed_ticket() -> None:
    for service in ServiceType:
        for status in FINAL_STATES:
            assert allowed_actions(status, service) == ([Action.REOPEN] if status is TicketStatus.CLOSED else [])


def test_happy_paths() -> None:
    onsite = [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.PAUSE, Action.RESUME,
              Action.RESOLVE, Action.SIGN_OFF, Action.CLOSE]
    assert replay(onsite, ServiceType.ONSITE) is TicketStatus.CLOSED
    phone = [Action.DISPATCH, Action.ACCEPT, Action.RESOLVE, Action.SIGN_OFF, Action.CLOSE]
    assert replay(phone, ServiceType.PHONE) is TicketStatus.CLOSED
    with pytest.raises(TransitionError):
        replay([Action.DISPATCH, Action.ACCEPT, Action.DEPART], ServiceType.REMOTE)


REACHABLE = {
    service: {TicketStatus.NEW} | set(moves.values()) for service, moves in EXPECTED.items()
}


@settings(max_examples=300)
@given(service=st.sampled_from(list(ServiceType)), actions=st.lists(st.sampled_from(list(Action)), max_size=40))
def test_random_sequences_stay_valid_and_replay(service: ServiceType, actions: list[Action]) -> None:
    status = TicketStatus.NEW
    log: list[Action] = []
    for action in actions:
        try:
            new = next_status(status, action, service)
        except TransitionError:
            assert (status, action) not in EXPECTED[service]
            continue
        assert (status, action) in EXPECTED[service]
        status = new
        log.append(action)
        assert status in REACHABLE[service]
        if service is not ServiceType.ONSITE:
            assert status not in (TicketStatus.EN_ROUTE, TicketStatus.ON_SITE)
    assert replay(log, service) is status
