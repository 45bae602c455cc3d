"""The overview's figures: open, at risk, overdue; over 90 days the share answered on time and
the median time to answer."""

from __future__ import annotations

from datetime import timedelta

from consent_service.rights import actions, service
from consent_service.rights.stats import overview
from tests.factories import make_org, make_subject
from tests.rights.conftest import OFFICER


def vouched(org, clock, external_id, request_type="access"):
    return service.create_request(
        org, external_id, request_type, clock.now(), identity_verified_by="company", client_id="cs_x"
    )


def test_nothing_yet(db, org, clock):
    figures = overview(org, clock.now())
    assert (figures.open, figures.answered, figures.on_time_rate, figures.median_days) == (0, 0, None, None)


def test_open_at_risk_overdue_on_time_and_the_median(db, org, person, clock):
    for n in range(2, 6):
        make_subject(org, clock.now(), f"u-{n}", email=f"u{n}@example.cn")
    late, risky, quick, slow, waiting = (vouched(org, clock, f"u-{n}") for n in range(1, 6))
    risky.at_risk = True
    clock.advance(days=2)
    actions.complete(org, quick.public_id, clock.now(), OFFICER)  # 2 days
    clock.advance(days=8)
    actions.refuse(org, slow.public_id, clock.now(), OFFICER, ground="bad_faith",
                   explanation="again", complaint_channel="pipo@shop.example")  # 10 days  # fmt: skip
    actions.pause(org, waiting.public_id, "which account?", clock.now(), OFFICER)
    clock.at = late.due_at + timedelta(minutes=1)  # the 30 days have passed for late
    figures = overview(org, clock.now())
    # risky is past its due time as well by now; the paused one's clock stands still
    assert (figures.open, figures.overdue, figures.at_risk) == (3, 2, 0)
    assert (figures.answered, figures.on_time, figures.on_time_rate) == (2, 2, 1.0)
    assert figures.median_days == 6.0


def test_at_risk_before_the_deadline_and_late_answers(db, org, person, clock):
    make_subject(org, clock.now(), "u-2", email="u2@example.cn")
    first, second = vouched(org, clock, "u-1"), vouched(org, clock, "u-2")
    first.at_risk = True
    figures = overview(org, clock.now())
    assert (figures.open, figures.at_risk, figures.overdue) == (2, 1, 0)
    clock.at = second.due_at + timedelta(days=1)
    actions.complete(org, second.public_id, clock.now(), OFFICER)  # a day late
    figures = overview(org, clock.now())
    assert (figures.answered, figures.on_time, figures.on_time_rate) == (1, 0, 0.0)
    clock.advance(days=91)
    assert overview(org, clock.now()).answered == 0  # outside the 90 days


def test_another_organizations_requests_do_not_count(db, org, person, clock):
    vouched(org, clock, "u-1")
    other = make_org(clock.now())
    assert overview(other, clock.now()).open == 0
