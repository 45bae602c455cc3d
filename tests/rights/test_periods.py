"""Periods: months after Regulation 1182/71, how long a period can last, and proving one period
never longer than another."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consent_service.rights.periods import (
    add_months,
    days_in_months,
    describe,
    merge,
    month_span,
    never_longer,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2026-08-05", 1, "2026-09-05"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2028-01-31", 1, "2028-02-29"),
        ("2100-01-31", 1, "2100-02-28"),  # 2100 is not a leap year
        ("2000-01-31", 1, "2000-02-29"),  # 2000 is
        ("2026-03-31", 1, "2026-04-30"),
        ("2026-12-31", 1, "2027-01-31"),
        ("2026-11-15", 2, "2027-01-15"),
        ("2026-01-31", 3, "2026-04-30"),
        ("2026-05-31", 12, "2027-05-31"),
        ("2026-05-31", 25, "2028-06-30"),
        ("2026-05-31", 0, "2026-05-31"),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(D(day), months) == D(expected)


def test_days_in_months():
    assert days_in_months(D("2026-01-31"), 1) == 28
    assert days_in_months(D("2026-01-01"), 1) == 31
    assert days_in_months(D("2026-01-31"), 3) == 89


def test_how_long_months_can_last():
    assert month_span(1) == (28, 31)
    assert month_span(2) == (59, 62)
    assert month_span(3) == (89, 92)
    assert month_span(12) == (365, 366)


def test_the_span_is_the_span_of_every_start_day():
    """The shortcut (only the 1st and the 29th to 31st differ) against every day of eight years."""
    first = D("2024-01-01")
    for months in (1, 2, 3, 5):
        spans = {days_in_months(first + timedelta(n), months) for n in range(366 * 8)}
        assert (min(spans), max(spans)) == month_span(months)


def test_describe():
    assert describe(15, "working_days") == "15 working days"
    assert describe(1, "months") == "1 month"
    assert describe(1, "calendar_days") == "1 calendar day"


def test_merge():
    assert merge([(1, "months"), (2, "months")]) == [(3, "months")]
    assert merge([(15, "working_days"), (5, "calendar_days")]) == [(15, "working_days"), (5, "calendar_days")]


@pytest.mark.parametrize(
    ("proposed", "limit", "expected"),
    [
        ([(10, "working_days")], [(15, "working_days")], True),
        ([(16, "working_days")], [(15, "working_days")], False),
        ([(15, "calendar_days")], [(15, "working_days")], True),
        ([(16, "calendar_days")], [(15, "working_days")], False),
        ([(15, "working_days")], [(30, "calendar_days")], False),
        ([(28, "calendar_days")], [(1, "months")], True),
        ([(29, "calendar_days")], [(1, "months")], False),
        ([(1, "months")], [(31, "calendar_days")], True),
        ([(1, "months")], [(30, "calendar_days")], False),
        ([(1, "months"), (2, "months")], [(3, "months")], True),
        ([(1, "months"), (58, "calendar_days")], [(3, "months")], True),  # 31 + 58 = 89
        ([(1, "months"), (59, "calendar_days")], [(3, "months")], False),
    ],
)
def test_never_longer(proposed, limit, expected):
    assert never_longer(proposed, limit) is expected
