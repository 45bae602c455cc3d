"""Loading a year's holiday notice: what deadlines count by afterwards, replacing a year, and a
wrong notice loading nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from sqlalchemy import func, select, text

from consent_service.holidays import ChineseCalendar, HolidayCalendar, add_working_days
from consent_service.rights.calendar_data import (
    CalendarDay,
    CalendarNotice,
    calendar_for,
    current_calendar,
    load_notice,
    loaded_days,
    loaded_notices,
)
from consent_service.rights.deadlines import compute_due, rule_for
from consent_service.rights.notice_files import NoticeInvalid, read_notice
from consent_service.services import lookup
from tests.rights.calendars import NOTICE_2027, NOTICE_2027_DAYS_OFF, NOTICE_2027_WORKING_DAYS

D = date.fromisoformat
SOURCE = "2027.yaml sha256:test"


def load(text: str, now: datetime, source: str = SOURCE) -> CalendarNotice:
    return load_notice(read_notice(text), now, source)


def counts(db) -> tuple[int, int]:
    """How many notices and how many days are stored."""
    return (
        db.session.scalar(select(func.count()).select_from(CalendarNotice)),
        db.session.scalar(select(func.count()).select_from(CalendarDay)),
    )


def test_before_any_notice_the_calendar_knows_what_the_package_knows(db):
    calendar = current_calendar()
    assert isinstance(calendar, ChineseCalendar)
    assert calendar.known_through() == D("2026-12-31")
    assert loaded_notices() == []


def test_a_2027_notice_loads(db, clock):
    notice = load(NOTICE_2027, clock.now())
    assert (notice.year, notice.source, notice.loaded_at) == (2027, SOURCE, clock.now())
    assert counts(db) == (1, NOTICE_2027_DAYS_OFF + NOTICE_2027_WORKING_DAYS)
    assert current_calendar().known_through() == D("2027-12-31")
    days = loaded_days(2027)
    assert [day.day for day in days] == sorted(day.day for day in days)
    assert {day.day: (day.is_working_day, day.name) for day in days}[D("2027-02-14")] == (True, "春节调休")
    assert loaded_notices() == [
        {
            "year": 2027,
            "source": SOURCE,
            "loaded_at": clock.now().isoformat(),
            "holidays": NOTICE_2027_DAYS_OFF,
            "working_days": NOTICE_2027_WORKING_DAYS,
        }
    ]


def test_working_days_across_the_loaded_spring_festival(db, clock):
    load(NOTICE_2027, clock.now())
    calendar = current_calendar()
    # 02-06..13 off, Sundays 02-14 and Saturday 02-20 worked.
    assert add_working_days(D("2027-02-05"), 1, calendar) == D("2027-02-14")
    assert add_working_days(D("2027-02-05"), 7, calendar) == D("2027-02-20")
    assert add_working_days(D("2027-02-05"), 15, calendar) == D("2027-03-03")
    # A day the notice does not name is a plain weekday or weekend day.
    assert calendar.is_working_day(D("2027-03-01")) is True
    assert calendar.is_working_day(D("2027-03-06")) is False
    start = datetime(2027, 2, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    due = compute_due(rule_for("PIPL", "deletion"), start, "Asia/Shanghai", calendar)
    assert (due.last_day, due.provisional) == (D("2027-03-03"), False)


def test_a_deadline_provisional_before_the_notice_is_exact_after_it(db, clock):
    start = datetime(2027, 2, 5, 2, 0, tzinfo=UTC)
    rule = rule_for("PIPL", "deletion")
    before = compute_due(rule, start, "Asia/Shanghai", current_calendar())
    load(NOTICE_2027, clock.now())
    after = compute_due(rule, start, "Asia/Shanghai", current_calendar())
    assert (before.last_day, before.provisional) == (D("2027-02-20"), True)
    assert (after.last_day, after.provisional) == (D("2027-03-03"), False)
    assert before.last_day < after.last_day


def test_loading_a_year_again_replaces_it(db, clock):
    load(NOTICE_2027, clock.now())
    first_at = clock.now()
    clock.advance(days=3)
    corrected = NOTICE_2027.replace("  - {date: 2027-06-09, name: 端午节}\n", "").replace(
        "  - {date: 2027-09-15, name: 中秋节}\n", "  - {from: 2027-09-15, to: 2027-09-17, name: 中秋节}\n"
    )
    notice = load(corrected, clock.now(), source="2027-corrected.yaml sha256:test")
    assert counts(db) == (1, NOTICE_2027_DAYS_OFF + 1 + NOTICE_2027_WORKING_DAYS)
    assert (notice.source, notice.loaded_at) == (
        "2027-corrected.yaml sha256:test",
        first_at + timedelta(days=3),
    )
    calendar = current_calendar()
    assert calendar.is_working_day(D("2027-06-09")) is True
    assert calendar.is_working_day(D("2027-09-17")) is False


def test_reloading_in_the_same_instant_is_seen(db, clock):
    load(NOTICE_2027, clock.now())
    assert current_calendar().is_working_day(D("2027-06-09")) is False
    load(NOTICE_2027.replace("  - {date: 2027-06-09, name: 端午节}\n", ""), clock.now())
    assert current_calendar().is_working_day(D("2027-06-09")) is True


def test_a_json_notice_loads_the_same_days(db, clock):
    as_json = json.dumps(yaml.safe_load(NOTICE_2027), ensure_ascii=False, indent=2, default=str)
    load(as_json, clock.now(), source="2027.json")
    assert counts(db) == (1, NOTICE_2027_DAYS_OFF + NOTICE_2027_WORKING_DAYS)
    assert current_calendar().known_through() == D("2027-12-31")


WRONG = {
    "a weekday worked": NOTICE_2027.replace(
        "{date: 2027-02-20, name: 春节调休}", "{date: 2027-02-22, name: 春节调休}"
    ),
    "a day both off and worked": NOTICE_2027.replace("{date: 2027-02-14,", "{date: 2027-02-13,"),
    "a date of another year": NOTICE_2027.replace("{date: 2027-09-15,", "{date: 2028-09-15,"),
    "an unknown key": NOTICE_2027 + "source: 国办发明电\n",
    "a single weekend day off": NOTICE_2027.replace("{date: 2027-06-09,", "{date: 2027-06-12,"),
}


@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_a_wrong_notice_loads_nothing(db, clock, wrong):
    data = read_notice(WRONG[wrong])
    with pytest.raises(NoticeInvalid) as excinfo:
        load_notice(data, clock.now(), SOURCE)
    assert excinfo.value.line is not None
    assert counts(db) == (0, 0)
    assert current_calendar().known_through() == D("2026-12-31")


@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_a_wrong_notice_leaves_the_loaded_year_as_it_was(db, clock, wrong):
    load(NOTICE_2027, clock.now())
    with pytest.raises(NoticeInvalid):
        load(WRONG[wrong], clock.now() + timedelta(days=1))
    assert counts(db) == (1, NOTICE_2027_DAYS_OFF + NOTICE_2027_WORKING_DAYS)
    assert db.session.get(CalendarNotice, 2027).loaded_at == clock.now()


def test_a_loaded_year_the_package_knows_replaces_it_whole(db, clock):
    # A correction of 2026 without the Mid-Autumn days (09-25..27): Friday 09-25 is worked again.
    cn = ChineseCalendar()
    assert cn.is_working_day(D("2026-09-25")) is False
    correction = "year: 2026\nholidays:\n  - {from: 2026-10-01, to: 2026-10-07, name: 国庆节}\n"
    load(correction, clock.now(), source="2026.yaml")
    calendar = current_calendar()
    assert calendar.is_working_day(D("2026-09-25")) is True
    assert calendar.is_working_day(D("2026-02-16")) is True  # the notice names no Spring Festival
    assert calendar.is_working_day(D("2026-10-10")) is False  # nor Saturday 10-10 worked
    assert calendar.is_working_day(D("2025-10-01")) is False  # other years as the package has them
    assert calendar.known_through() == D("2026-12-31")


def test_a_year_after_a_gap_does_not_move_known_through(db, clock):
    load("year: 2028\nholidays:\n  - {from: 2028-01-01, to: 2028-01-03, name: 元旦}\n", clock.now())
    calendar = current_calendar()
    assert calendar.known_through() == D("2026-12-31")
    load(NOTICE_2027, clock.now())
    assert current_calendar().known_through() == D("2028-12-31")


def test_the_calendar_is_kept_until_a_notice_is_loaded(app, db, clock):
    first = current_calendar()
    assert current_calendar() is first
    load(NOTICE_2027, clock.now())
    second = current_calendar()
    assert second is not first
    assert calendar_for(app) is second


def test_a_notice_loaded_by_another_process_is_seen(db, clock):
    first = current_calendar()
    # Written as another process would write it: nothing here is told.
    db.session.execute(
        text("INSERT INTO calendar_notice (year, source, loaded_at) VALUES (2027, 'elsewhere', :at)"),
        {"at": datetime(2026, 11, 20, 8, 0)},
    )
    db.session.execute(
        text(
            "INSERT INTO calendar_day (day, is_working_day, name, year) VALUES (:day, :worked, '元旦', 2027)"
        ),
        {"day": D("2027-01-01"), "worked": False},
    )
    calendar = current_calendar()
    assert calendar is not first
    assert calendar.known_through() == D("2027-12-31")
    assert calendar.is_working_day(D("2027-01-01")) is False


def test_other_calendars_are_the_one_the_application_provides(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "HOLIDAY_CALENDAR", "weekends")
    assert calendar_for(app) is lookup(HolidayCalendar)


def test_now_must_be_aware(db):
    with pytest.raises(ValueError, match="timezone-aware"):
        load(NOTICE_2027, datetime(2026, 11, 20, 8, 0))
    assert counts(db) == (0, 0)
