"""``flask calendar``: loading a notice from a file, a wrong file refused by its line with nothing
loaded, and showing what the calendar knows."""

from __future__ import annotations

import hashlib
import json

import yaml
from sqlalchemy import func, select

from consent_service.holidays import HolidayCalendar, WeekendCalendar
from consent_service.rights.calendar_data import CalendarDay, CalendarNotice
from tests.cli_support import assert_clean_failure, assert_ok, run
from tests.rights.calendars import NOTICE_2027, NOTICE_2027_DAYS_OFF, NOTICE_2027_WORKING_DAYS


def stored(db) -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(CalendarNotice)),
        db.session.scalar(select(func.count()).select_from(CalendarDay)),
    )


def test_load_prints_the_year_and_how_far_the_calendar_reaches(cli, db, clock, tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_text(NOTICE_2027, "utf-8")
    result = run(cli, "calendar", "load", str(path))
    assert_ok(result)
    assert json.loads(result.output) == {
        "year": 2027,
        "holidays": NOTICE_2027_DAYS_OFF,
        "working_days": NOTICE_2027_WORKING_DAYS,
        "known_through": "2027-12-31",
        "provisional_recomputed": 0,
    }
    assert stored(db) == (1, NOTICE_2027_DAYS_OFF + NOTICE_2027_WORKING_DAYS)
    notice = db.session.get(CalendarNotice, 2027)
    digest = hashlib.sha256(NOTICE_2027.encode()).hexdigest()
    assert (notice.source, notice.loaded_at) == (f"2027.yaml sha256:{digest}", clock.now())


def test_load_a_json_file(cli, db, tmp_path):
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(yaml.safe_load(NOTICE_2027), ensure_ascii=False, default=str), "utf-8")
    result = run(cli, "calendar", "load", str(path))
    assert_ok(result)
    assert json.loads(result.output)["known_through"] == "2027-12-31"


def test_load_again_replaces_the_year(cli, db, clock, tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_text(NOTICE_2027, "utf-8")
    assert_ok(run(cli, "calendar", "load", str(path)))
    clock.advance(days=1)
    path.write_text(NOTICE_2027.replace("  - {date: 2027-06-09, name: 端午节}\n", ""), "utf-8")
    result = run(cli, "calendar", "load", str(path))
    assert_ok(result)
    assert json.loads(result.output)["holidays"] == NOTICE_2027_DAYS_OFF - 1
    assert stored(db) == (1, NOTICE_2027_DAYS_OFF - 1 + NOTICE_2027_WORKING_DAYS)
    assert db.session.get(CalendarNotice, 2027).loaded_at == clock.now()


def test_a_wrong_file_names_its_line_and_loads_nothing(cli, db, tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_text(NOTICE_2027.replace("{date: 2027-10-09, name", "{date: 2027-10-08, name"), "utf-8")
    result = run(cli, "calendar", "load", str(path))
    assert_clean_failure(result, "line 17: 2027-10-08 is a Friday, a working day anyway")
    assert stored(db) == (0, 0)


def test_a_file_that_is_not_yaml(cli, db, tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_text("year: 2027\nholidays: [\n", "utf-8")
    assert_clean_failure(run(cli, "calendar", "load", str(path)), "line 3: not YAML")
    assert stored(db) == (0, 0)


def test_a_file_that_is_not_utf8(cli, db, tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_bytes(NOTICE_2027.encode("gb18030"))
    assert_clean_failure(run(cli, "calendar", "load", str(path)), "is not UTF-8 text")
    assert stored(db) == (0, 0)


def test_a_file_with_a_byte_order_mark(cli, db, tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_bytes(NOTICE_2027.encode("utf-8-sig"))
    assert_ok(run(cli, "calendar", "load", str(path)))


def test_a_missing_file(cli, db, tmp_path):
    result = run(cli, "calendar", "load", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_show_before_any_notice(cli, db):
    result = run(cli, "calendar", "show")
    assert_ok(result)
    assert json.loads(result.output) == {"calendar": "chinese", "known_through": "2026-12-31", "notices": []}


def test_show_after_a_notice(cli, db, clock, tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_text(NOTICE_2027, "utf-8")
    assert_ok(run(cli, "calendar", "load", str(path)))
    result = run(cli, "calendar", "show", "--year", "2027")
    assert_ok(result)
    shown = json.loads(result.output)
    assert shown["known_through"] == "2027-12-31"
    assert [(n["year"], n["holidays"], n["working_days"]) for n in shown["notices"]] == [
        (2027, NOTICE_2027_DAYS_OFF, NOTICE_2027_WORKING_DAYS)
    ]
    assert shown["notices"][0]["loaded_at"] == clock.now().isoformat()
    assert shown["year"]["source"] == "notice"
    days = shown["year"]["days"]
    assert len(days) == NOTICE_2027_DAYS_OFF + NOTICE_2027_WORKING_DAYS
    assert days[0] == {"date": "2027-01-01", "is_working_day": False, "name": "元旦"}
    assert {"date": "2027-02-14", "is_working_day": True, "name": "春节调休"} in days


def test_show_a_year_the_package_knows(cli, db):
    result = run(cli, "calendar", "show", "--year", "2026")
    assert_ok(result)
    year = json.loads(result.output)["year"]
    assert year["source"] == "calendar"
    days = {day["date"]: day["is_working_day"] for day in year["days"]}
    # Only the exceptions: weekdays off and weekend days worked.
    assert days["2026-02-16"] is False and days["2026-02-14"] is True
    assert "2026-02-21" not in days  # a Saturday inside Spring Festival is off anyway
    assert "2026-03-02" not in days


def test_show_a_year_nobody_knows(cli, db):
    result = run(cli, "calendar", "show", "--year", "2031")
    assert_ok(result)
    assert json.loads(result.output)["year"] == {"year": 2031, "source": "unknown", "days": []}


def test_show_with_the_weekend_calendar(app, cli, db, monkeypatch):
    monkeypatch.setitem(app.config, "HOLIDAY_CALENDAR", "weekends")
    monkeypatch.setitem(app.extensions["consent_service.services"], HolidayCalendar, WeekendCalendar())
    result = run(cli, "calendar", "show")
    assert_ok(result)
    assert json.loads(result.output)["known_through"] == "every day"
