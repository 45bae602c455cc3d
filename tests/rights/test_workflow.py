"""The lifecycle in one table: every legal step leads where it says, every other is refused with
the actions that are allowed."""

from __future__ import annotations

import pytest

from consent_service.rights.workflow import (
    CLOSED,
    OPEN,
    STATUSES,
    TRANSITIONS,
    TransitionNotAllowed,
    allowed_actions,
    next_status,
)

LEGAL = [(action, source, target) for action, (sources, target) in TRANSITIONS.items() for source in sources]
ILLEGAL = [
    (action, status)
    for action, (sources, _) in TRANSITIONS.items()
    for status in STATUSES
    if status not in sources
]


@pytest.mark.parametrize(("action", "source", "target"), LEGAL, ids=[f"{a}:{s}" for a, s, _ in LEGAL])
def test_every_legal_step_leads_where_the_table_says(action, source, target):
    assert next_status(action, source) == (source if target is None else target)


@pytest.mark.parametrize(("action", "status"), ILLEGAL, ids=[f"{a}:{s}" for a, s in ILLEGAL])
def test_every_other_step_is_refused_naming_the_allowed_ones(action, status):
    with pytest.raises(TransitionNotAllowed) as refused:
        next_status(action, status)
    assert refused.value.status == 409
    assert refused.value.allowed == allowed_actions(status)
    assert action not in refused.value.allowed


def test_closed_requests_allow_nothing():
    for status in CLOSED:
        assert allowed_actions(status) == []
    assert set(OPEN) | set(CLOSED) == set(STATUSES)


def test_a_refusal_and_a_withdrawal_are_possible_from_every_open_status():
    for status in OPEN:
        assert {"refuse", "withdraw"} <= set(allowed_actions(status))
