"""Working days after the State Council's notices, and deadlines counted in them.

The notices for 2025 and 2026 are written out below as they were published (periods off and
the weekend days worked, 调休), and first checked against the ``chinese-calendar`` package's
own data: every expected deadline below was counted by hand from these notices, so a test
passes only if the notices, the package and the counting agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from flask import Flask

from consent_service.config import ConfigurationError
from consent_service.errors import DomainError
from consent_service.holidays import (
    CalendarUnknown,
    ChineseCalendar,
    HolidayCalendar,
    WeekendCalendar,
    add_working_days,
    from_config,
)
from consent_service.services import lookup

D = date.fromisoformat


def days(first: str, last: str) -> set[date]:
    """Every day from ``first`` to ``last``, both included."""
    start, end = D(first), D(last)
    return {start + timedelta(n) for n in range((end - start).days + 1)}


# The notices: (periods off, weekend days worked).
NOTICES = {
    # 国务院办公厅关于2025年部分节假日安排的通知
    2025: (
        [
            ("2025-01-01", "2025-01-01"),  # 元旦
            ("2025-01-28", "2025-02-04"),  # 春节
            ("2025-04-04", "2025-04-06"),  # 清明节
            ("2025-05-01", "2025-05-05"),  # 劳动节
            ("2025-05-31", "2025-06-02"),  # 端午节
            ("2025-10-01", "2025-10-08"),  # 国庆节、中秋节
        ],
        ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    ),
    # 国务院办公厅关于2026年部分节假日安排的通知
    2026: (
        [
            ("2026-01-01", "2026-01-03"),  # 元旦
            ("2026-02-15", "2026-02-23"),  # 春节
            ("2026-04-04", "2026-04-06"),  # 清明节
            ("2026-05-01", "2026-05-05"),  # 劳动节
            ("2026-06-19", "2026-06-21"),  # 端午节
            ("2026-09-25", "2026-09-27"),  # 中秋节
            ("2026-10-01", "2026-10-07"),  # 国庆节
        ],
        ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
    ),
}


@pytest.fixture(scope="module")
def cn() -> ChineseCalendar:
    return ChineseCalendar()


# --- the data agrees with the notices ---------------------------------------------------------


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_the_package_holds_exactly_the_notice(year):
    periods, worked = NOTICES[year]
    off = set().union(*(days(first, last) for first, last in periods))
    assert {d for d in chinese_calendar.holidays if d.year == year} == off
    assert {d for d in chinese_calendar.workdays if d.year == year} == {D(d) for d in worked}
    # Every make-up day is a weekend day; the check below relies on it.
    assert all(D(d).weekday() >= 5 for d in worked)


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_every_day_of_the_year_is_as_the_notice_says(cn, year):
    periods, worked = NOTICES[year]
    off = set().union(*(days(first, last) for first, last in periods))
    worked_days = {D(d) for d in worked}
    for day in days(f"{year}-01-01", f"{year}-12-31"):
        expected = day in worked_days or (day.weekday() < 5 and day not in off)
        assert cn.is_working_day(day) is expected, day


# --- single days --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "2025-09-28",
        "2025-10-11",
        "2025-01-26",
        "2025-02-08",
        "2025-04-27",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-01-04",
    ],
)
def test_a_weekend_day_moved_into_work_is_a_working_day(cn, day):
    assert D(day).weekday() >= 5
    assert cn.is_working_day(D(day)) is True


@pytest.mark.parametrize("day", ["2025-10-18", "2025-10-19", "2026-03-07", "2026-03-08", "2025-09-27"])
def test_an_ordinary_weekend_day_is_not(cn, day):
    assert cn.is_working_day(D(day)) is False


@pytest.mark.parametrize(
    "day",
    [
        "2025-10-01",
        "2025-10-06",
        "2025-10-08",
        "2026-02-16",
        "2026-02-23",
        "2025-05-05",
        "2026-05-05",
        "2026-01-02",
    ],
)
def test_a_weekday_in_a_holiday_is_not(cn, day):
    assert D(day).weekday() < 5
    assert cn.is_working_day(D(day)) is False


def test_the_days_around_national_day_2025(cn):
    assert cn.is_working_day(D("2025-09-30")) is True
    assert cn.is_working_day(D("2025-10-09")) is True


# --- counting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        # National Day and Mid-Autumn 2025: Sun 09-28 worked, 10-01..08 off, Sat 10-11 worked.
        ("2025-09-26", 15, "2025-10-23"),
        ("2025-09-26", 1, "2025-09-28"),
        ("2025-09-30", 1, "2025-10-09"),
        ("2025-10-10", 1, "2025-10-11"),
        # Spring Festival 2026: Sat 02-14 worked, 02-15..23 off, Sat 02-28 worked.
        ("2026-02-13", 1, "2026-02-14"),
        ("2026-02-13", 2, "2026-02-24"),
        ("2026-02-13", 5, "2026-02-27"),
        ("2026-02-13", 6, "2026-02-28"),
        ("2026-02-13", 15, "2026-03-12"),
        ("2026-02-14", 15, "2026-03-13"),
        # Spring Festival 2025: Sun 01-26 worked, 01-28..02-04 off, Sat 02-08 worked.
        ("2025-01-24", 15, "2025-02-20"),
        # Labour Day 2025: Sun 04-27 worked, 05-01..05 off.
        ("2025-04-25", 1, "2025-04-27"),
        ("2025-04-30", 1, "2025-05-06"),
        # Labour Day 2026: 05-01..05 off, Sat 05-09 worked.
        ("2026-04-30", 3, "2026-05-08"),
        ("2026-04-30", 4, "2026-05-09"),
        ("2026-04-28", 15, "2026-05-21"),
        # A request on a holiday: the holiday is not counted, nor the following ones.
        ("2025-10-01", 1, "2025-10-09"),
        # Across a new year: 2025-12-31 Wed, 2026-01-01..03 off, Sun 01-04 worked.
        ("2025-12-31", 1, "2026-01-04"),
        ("2025-12-30", 15, "2026-01-21"),
        # No holiday in the way: three ordinary weeks.
        ("2025-11-07", 15, "2025-11-28"),
    ],
)
def test_add_working_days(cn, start, count, due):
    assert add_working_days(D(start), count, cn) == D(due)


@pytest.mark.parametrize("start", ["2025-09-26", "2025-10-01", "2025-10-18", "2025-09-28"])
def test_zero_working_days_is_the_start_day(cn, start):
    assert add_working_days(D(start), 0, cn) == D(start)


def test_a_negative_count_is_refused(cn):
    with pytest.raises(ValueError, match="counts forward"):
        add_working_days(D("2025-09-26"), -1, cn)


def test_a_datetime_is_refused_not_cut_to_its_utc_date(cn):
    # 2025-09-26 20:00 UTC is already Saturday in Shanghai: the caller converts first.
    moment = datetime(2025, 9, 26, 20, 0, tzinfo=UTC)
    with pytest.raises(TypeError, match="calendar day"):
        add_working_days(moment, 15, cn)
    with pytest.raises(TypeError):
        cn.is_working_day(moment)


# --- the operator's own days ------------------------------------------------------------------


def test_an_operator_day_off_overrides_the_package():
    calendar = ChineseCalendar({D("2025-10-23"): False})
    assert calendar.is_working_day(D("2025-10-23")) is False
    assert add_working_days(D("2025-09-26"), 15, calendar) == D("2025-10-24")


def test_an_operator_working_day_overrides_the_package():
    calendar = ChineseCalendar({D("2025-10-18"): True, D("2025-10-08"): True})
    assert calendar.is_working_day(D("2025-10-18")) is True
    # 10-08 and Sat 10-18 now count: two days earlier.
    assert add_working_days(D("2025-09-26"), 15, calendar) == D("2025-10-21")
    # The package's own answer stands for every other day.
    assert calendar.is_working_day(D("2025-10-07")) is False


def test_operator_days_must_say_true_or_false():
    with pytest.raises(TypeError):
        ChineseCalendar({D("2025-10-18"): "false"})
    with pytest.raises(TypeError):
        ChineseCalendar({datetime(2025, 10, 18, tzinfo=UTC): True})


# --- the end of the data ------------------------------------------------------------------------


def test_known_through_is_the_last_day_of_the_packages_last_year(cn):
    last_year = max(chinese_calendar.holidays).year
    assert last_year >= 2026
    assert cn.known_through() == date(last_year, 12, 31)
    assert cn.is_working_day(cn.known_through()) in (True, False)
    # The package itself refuses the next year: the calendar must not guess past it.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(cn.known_through() + timedelta(days=1))


def test_a_day_past_the_known_range_raises_calendar_unknown(cn):
    day = cn.known_through() + timedelta(days=1)
    with pytest.raises(CalendarUnknown) as excinfo:
        cn.is_working_day(day)
    error = excinfo.value
    assert isinstance(error, DomainError)
    assert error.day == day
    assert error.known_through == cn.known_through()
    assert day.isoformat() in error.message
    assert error.to_dict()["details"] == {
        "date": day.isoformat(),
        "knownThrough": cn.known_through().isoformat(),
    }


def test_a_count_running_past_the_known_range_raises(cn):
    start = cn.known_through() - timedelta(days=3)
    with pytest.raises(CalendarUnknown) as excinfo:
        add_working_days(start, 15, cn)
    assert excinfo.value.day == cn.known_through() + timedelta(days=1)


def test_a_day_before_the_packages_first_year_is_unknown(cn):
    first_year = min(chinese_calendar.holidays).year
    with pytest.raises(CalendarUnknown):
        cn.is_working_day(date(first_year - 1, 12, 31))


def test_a_loaded_notice_extends_the_known_range(cn):
    next_year = cn.known_through().year + 1
    new_years_day = date(next_year, 1, 1)
    first_monday = next(
        new_years_day + timedelta(n) for n in range(7) if (new_years_day + timedelta(n)).weekday() == 0
    )
    calendar = ChineseCalendar({new_years_day: False, first_monday: False}, notice_years=[next_year])
    assert calendar.known_through() == date(next_year, 12, 31)
    assert calendar.is_working_day(new_years_day) is False
    assert calendar.is_working_day(first_monday) is False
    assert calendar.is_working_day(first_monday + timedelta(days=1)) is True  # not in the notice
    assert calendar.is_working_day(first_monday + timedelta(days=5)) is False  # its Saturday
    with pytest.raises(CalendarUnknown):
        calendar.is_working_day(date(next_year + 1, 1, 1))


def test_a_single_operator_day_does_not_make_its_year_known(cn):
    next_year = cn.known_through().year + 1
    calendar = ChineseCalendar({date(next_year, 1, 1): False})
    assert calendar.known_through() == cn.known_through()
    assert calendar.is_working_day(date(next_year, 1, 1)) is False
    with pytest.raises(CalendarUnknown):
        calendar.is_working_day(date(next_year, 1, 5))


def test_a_notice_after_a_gap_does_not_extend_the_range(cn):
    gap_year = cn.known_through().year + 1
    calendar = ChineseCalendar(notice_years=[gap_year + 1])
    assert calendar.known_through() == cn.known_through()
    with pytest.raises(CalendarUnknown):
        calendar.is_working_day(date(gap_year + 1, 3, 2))


# --- the weekend calendar -----------------------------------------------------------------------


def test_weekend_calendar_is_monday_to_friday():
    calendar = WeekendCalendar()
    assert [calendar.is_working_day(D("2025-09-22") + timedelta(n)) for n in range(7)] == [True] * 5 + [
        False
    ] * 2
    # It knows nothing of the PRC notices: National Day is ordinary weeks.
    assert calendar.is_working_day(D("2025-10-01")) is True
    assert calendar.is_working_day(D("2025-09-28")) is False
    assert add_working_days(D("2025-09-26"), 15, calendar) == D("2025-10-17")
    assert add_working_days(D("2025-09-26"), 0, calendar) == D("2025-09-26")


def test_weekend_calendar_with_exceptions():
    calendar = WeekendCalendar(
        holidays=[D("2025-12-25"), D("2025-12-26")], working_weekend_days=[D("2025-12-27")]
    )
    assert calendar.is_working_day(D("2025-12-25")) is False
    assert calendar.is_working_day(D("2025-12-27")) is True
    assert calendar.is_working_day(D("2025-12-28")) is False
    # From Wed 12-24: Sat 12-27 (1), Mon 12-29 (2), Tue 12-30 (3).
    assert add_working_days(D("2025-12-24"), 3, calendar) == D("2025-12-30")


def test_weekend_calendar_knows_every_day():
    calendar = WeekendCalendar()
    assert calendar.known_through() == date.max
    assert calendar.is_working_day(date(2100, 3, 1)) is True


def test_weekend_calendar_refuses_a_day_both_off_and_worked():
    with pytest.raises(ValueError, match="both"):
        WeekendCalendar(holidays=[D("2025-12-27")], working_weekend_days=[D("2025-12-27")])


# --- configuration ------------------------------------------------------------------------------


def bare_app(**config) -> Flask:
    app = Flask("holidays_test")
    app.config.update(config)
    return app


def test_the_chinese_calendar_is_the_default():
    assert isinstance(from_config(bare_app()), ChineseCalendar)
    assert isinstance(from_config(bare_app(HOLIDAY_CALENDAR="chinese")), ChineseCalendar)


def test_weekends_is_chosen_by_config():
    assert isinstance(from_config(bare_app(HOLIDAY_CALENDAR="weekends")), WeekendCalendar)


def test_an_unknown_calendar_refuses_to_start():
    with pytest.raises(ConfigurationError, match="HOLIDAY_CALENDAR"):
        from_config(bare_app(HOLIDAY_CALENDAR="gregorian"))


def test_the_application_provides_its_calendar(app):
    with app.app_context():
        calendar = lookup(HolidayCalendar)
    assert isinstance(calendar, ChineseCalendar)
    assert add_working_days(D("2025-09-26"), 15, calendar) == D("2025-10-23")
