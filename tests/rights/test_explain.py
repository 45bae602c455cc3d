"""A request's deadline explained for an officer: the rule and its clause, the start day not
counted, the weekend and holiday days passed over, pauses with their reasons and the days they
added back, and the queue's urgency."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from consent_service.rights import actions, service
from consent_service.rights.explain import explain, urgency, urgency_filter
from consent_service.rights.models import RightsRequest
from tests.rights.conftest import OFFICER


def vouched(org, clock, request_type):
    return service.create_request(
        org, "u-1", request_type, clock.now(), identity_verified_by="company", client_id="cs_x"
    )


def test_a_working_day_deadline_says_what_was_counted_and_skipped(db, org, person, clock):
    request = vouched(org, clock, "deletion")
    explained = explain(org, request, clock.now())
    assert (explained.unit, explained.amount, explained.starts_at) == (
        "working_days",
        15,
        "identity_verified",
    )
    assert explained.rule.startswith("15 working days from identity verification")
    # Monday 2026-11-02 is the start (not counted); 15 working days: Monday 2026-11-23.
    assert explained.start_day == date(2026, 11, 2)
    assert explained.due_day == date(2026, 11, 23) == request.due_day
    assert explained.due_at == request.due_at
    assert len(explained.counted) == 15 and explained.counted[0] == date(2026, 11, 3)
    assert explained.skipped == (
        date(2026, 11, 7), date(2026, 11, 8), date(2026, 11, 14), date(2026, 11, 15),
        date(2026, 11, 21), date(2026, 11, 22),
    )  # fmt: skip
    assert not explained.provisional and explained.pauses == ()


def test_a_pause_is_explained_with_its_reason_and_the_days_it_added(db, org, person, clock):
    request = vouched(org, clock, "access")
    clock.advance(days=4)  # Friday 2026-11-06
    actions.pause(org, request.public_id, "which account?", clock.now(), OFFICER)
    clock.advance(days=3)  # Monday 2026-11-09
    actions.resume(org, request.public_id, clock.now(), OFFICER, "the person answered")
    explained = explain(org, request, clock.now())
    (pause,) = explained.pauses
    assert pause.reason == "which account?" and pause.resumed_at == clock.now()
    assert explained.paused_days == (date(2026, 11, 7), date(2026, 11, 8), date(2026, 11, 9))
    assert explained.due_day == date(2026, 12, 5) == request.due_day  # 30 days + 3 added back


def test_before_the_clock_starts_there_is_no_due_date(db, org, person, clock):
    request = service.create_request(org, "u-1", "access", clock.now())  # a code is mailed
    explained = explain(org, request, clock.now())
    assert (explained.clock_started_at, explained.due_day, explained.counted) == (None, None, ())
    assert urgency(request, clock.now()) == "waiting"


def test_urgency_follows_the_reminders_and_the_deadline(db, org, person, clock):
    request = vouched(org, clock, "deletion")
    assert urgency(request, clock.now()) == "on_time"
    request.at_risk = True
    assert urgency(request, clock.now()) == "at_risk"
    assert urgency(request, request.due_at + timedelta(seconds=1)) == "overdue"
    actions.withdraw(org, request.public_id, clock.now(), OFFICER)
    assert urgency(request, clock.now()) == "closed"


def test_a_paused_request_is_not_overdue_while_its_clock_stands_still(db, org, person, clock):

    request = vouched(org, clock, "deletion")
    actions.pause(org, request.public_id, "which account?", clock.now(), OFFICER)
    later = request.due_at + timedelta(days=1)
    assert urgency(request, later) == "on_time"
    late = db.session.scalars(select(RightsRequest.id).where(urgency_filter("overdue", later))).all()
    assert late == []
    actions.resume(org, request.public_id, later, OFFICER)
    assert urgency(request, later) == "on_time"  # the due date moved by the days paused
