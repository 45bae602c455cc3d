"""Consents given and withdrawn per purpose, week by week, for the overview's chart."""

from __future__ import annotations

from datetime import date, timedelta

from consent_service.consent.stats import weekly_acts
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy


def test_grants_and_withdrawals_are_counted_by_purpose_and_week(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "newsletter")
    publish_policy(org, clock.now())
    start = clock.now()  # Monday 2026-11-02
    people = [make_subject(org, clock.now(), f"u-{n}") for n in range(3)]
    for person in people:
        grant(org, person, clock.now(), "marketing")
    grant(org, people[0], clock.now(), "newsletter")
    clock.advance(days=8)  # the next week
    act(org, people[1], clock.now(), "withdraw", "marketing")
    weeks = weekly_acts(org, start, clock.now() + timedelta(days=1))
    assert weeks == {
        "marketing": [(date(2026, 11, 2), 3, 0), (date(2026, 11, 9), 0, 1)],
        "newsletter": [(date(2026, 11, 2), 1, 0), (date(2026, 11, 9), 0, 0)],
    }
    other = make_org(clock.now())
    assert weekly_acts(other, start, clock.now()) == {}
