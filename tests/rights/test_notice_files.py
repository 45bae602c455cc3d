"""The notice file: YAML or JSON, checked strictly, every problem named with its line."""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml

from consent_service.errors import DomainError
from consent_service.rights.notice_files import MAX_NOTICE_CHARS, NoticeInvalid, parse_notice, read_notice
from tests.rights.calendars import NOTICE_2027, NOTICE_2027_DAYS_OFF, NOTICE_2027_WORKING_DAYS

D = date.fromisoformat


def parse(text: str):
    return parse_notice(read_notice(text))


def refused(text: str, line: int | None, fragment: str) -> NoticeInvalid:
    """Check that ``text`` is refused at ``line`` with ``fragment`` in the message."""
    with pytest.raises(NoticeInvalid) as excinfo:
        parse(text)
    error = excinfo.value
    assert error.line == line, error.message
    assert fragment in error.message, error.message
    if line is not None:
        assert error.message.startswith(f"line {line}: ")
    return error


def notice(
    *, holidays: str = "  - {date: 2027-01-01, name: 元旦}\n", working: str = "", extra: str = ""
) -> str:
    """A small notice with the given lines (holidays start on line 3, working days after them)."""
    text = f"year: 2027\nholidays:\n{holidays}"
    if working:
        text += f"working_days:\n{working}"
    return text + extra


# --- a good notice -------------------------------------------------------------------------------


def test_the_2027_notice():
    result = parse(NOTICE_2027)
    assert result.year == 2027
    assert len(result.holidays) == NOTICE_2027_DAYS_OFF
    assert len(result.working_days) == NOTICE_2027_WORKING_DAYS
    assert [day.day for day in result.days] == sorted(day.day for day in result.days)
    spring = [day for day in result.holidays if day.name == "春节"]
    assert [day.day for day in spring] == [D(f"2027-02-{n:02}") for n in range(6, 14)]
    assert spring[0].day.weekday() == 5  # a Saturday within a period off is fine
    assert {day.day: day.name for day in result.working_days}[D("2027-02-14")] == "春节调休"
    assert all(day.is_working_day for day in result.working_days)


def test_the_same_notice_as_json():
    data = yaml.safe_load(NOTICE_2027)
    as_json = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    assert parse(as_json) == parse(NOTICE_2027)
    with_tabs = json.dumps(data, ensure_ascii=False, indent="\t", default=str)
    assert "\t" in with_tabs
    assert parse(with_tabs) == parse(NOTICE_2027)


def test_working_days_may_be_left_out():
    assert parse(notice()).working_days == ()


def test_names_are_text_whatever_they_look_like():
    result = parse(notice(holidays="  - {date: 2027-01-01, name: no}\n  - {date: 2027-01-04, name: on}\n"))
    assert [day.name for day in result.days] == ["no", "on"]


def test_a_plain_mapping_built_in_code():
    data = {"year": 2027, "holidays": [{"date": date(2027, 1, 1), "name": "元旦"}]}
    assert parse_notice(data).holidays[0].day == D("2027-01-01")
    with pytest.raises(NoticeInvalid) as excinfo:
        parse_notice({"year": 2027, "holidays": [{"date": "2027-01-02", "name": " "}]})
    assert excinfo.value.line is None
    assert excinfo.value.message.startswith("holidays[0].name: ")


# --- not YAML, not JSON ---------------------------------------------------------------------------


def test_bad_yaml_names_its_line():
    refused("year: 2027\nholidays:\n  - {date: 2027-01-01, name: 元旦\n", 4, "not YAML")


def test_bad_json_names_its_line():
    refused(
        '{\n  "year": 2027,\n  "holidays": [\n    {"date": "2027-01-01" "name": "元旦"}\n  ]\n}\n',
        4,
        "not JSON",
    )


def test_json_with_a_trailing_comma():
    refused('{\n  "year": 2027,\n  "holidays": [],\n}\n', 4, "not JSON")


def test_json_errors_name_the_line_of_the_value():
    text = '{\n  "year": 2027,\n  "holidays": [\n    {"date": "2026-12-31", "name": "元旦"}\n  ]\n}\n'
    refused(text, 4, "2026-12-31 is not in 2027")


def test_an_empty_file():
    refused("", 1, "empty")
    refused("# only a comment\n", 1, "empty")


def test_a_list_is_not_a_notice():
    refused("- 2027-01-01\n", 1, "a notice is a mapping")


def test_an_unknown_tag():
    refused("year: 2027\nholidays: !!python/object:os.system x\n", 2, "not YAML")


def test_a_value_that_contains_itself():
    refused("year: 2027\nholidays: &h\n  - *h\n", 2, "contains itself")  # the line of the anchor


def test_a_billion_laughs():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 8)]
    refused("\n".join(lines) + "\n", 1, "too large")  # the node repeated past the limit


def test_a_file_too_long():
    refused("# " + "x" * MAX_NOTICE_CHARS, None, "longer than")


# --- keys -----------------------------------------------------------------------------------------


def test_an_unknown_key():
    error = refused(notice(extra="notes: from the State Council\n"), 4, "unknown key 'notes'")
    assert isinstance(error, DomainError) and error.status == 422


def test_an_unknown_key_in_a_day():
    refused(
        notice(holidays="  - date: 2027-01-01\n    name: 元旦\n    region: 全国\n"), 5, "unknown key 'region'"
    )


def test_a_key_given_twice():
    refused("year: 2027\nyear: 2028\nholidays: []\n", 2, "year is given twice")


def test_the_year_is_missing():
    refused("holidays:\n  - {date: 2027-01-01, name: 元旦}\n", 1, "year is missing")


def test_a_name_is_missing():
    refused(
        notice(holidays="  - {date: 2027-01-01, name: 元旦}\n  - {date: 2027-01-04}\n"), 4, "name is missing"
    )


def test_a_day_with_date_and_a_period():
    refused(
        notice(holidays="  - {date: 2027-01-01, from: 2027-01-01, to: 2027-01-03, name: 元旦}\n"),
        3,
        "not both",
    )


def test_a_period_without_its_end():
    refused(notice(holidays="  - {from: 2027-02-06, name: 春节}\n"), 3, "needs to")


def test_no_day_off():
    refused("year: 2027\nholidays: []\n", 2, "at least one day off")


def test_holidays_not_a_list():
    refused("year: 2027\nholidays: 2027-01-01\n", 2, "holidays is a list")


def test_a_day_that_is_not_a_mapping():
    refused(
        notice(holidays="  - {date: 2027-01-01, name: 元旦}\n  - 2027-01-04\n"), 4, "each day is a mapping"
    )


# --- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", ["twenty", "true", "2027.0", "27", "1:20"])
def test_a_year_that_is_not_one(year):
    refused(f"year: {year}\nholidays:\n  - {{date: 2027-01-01, name: 元旦}}\n", 1, "year must be a year")


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ("2027-02-30", "2027-02-30 is not a day of the calendar"),
        ("2027-2-3", "written YYYY-MM-DD"),
        ("20270203", "written YYYY-MM-DD"),
        ("2027-02-03T00:00", "written YYYY-MM-DD"),
        ("'2027-W05-3'", "written YYYY-MM-DD"),
        ("", "written YYYY-MM-DD"),
    ],
)
def test_a_date_that_is_not_written_strictly(written, fragment):
    refused(
        notice(holidays=f"  - {{date: 2027-01-01, name: 元旦}}\n  - date: {written}\n    name: 春节\n"),
        4,
        fragment,
    )


def test_a_date_in_another_year():
    refused(
        notice(holidays="  - {date: 2027-01-01, name: 元旦}\n  - {date: 2028-01-03, name: 元旦}\n"),
        4,
        "not in 2027",
    )


def test_a_period_running_into_another_year():
    refused(notice(holidays="  - from: 2027-12-31\n    to: 2028-01-02\n    name: 元旦\n"), 4, "not in 2027")


def test_a_period_that_ends_before_it_begins():
    refused(
        notice(holidays="  - from: 2027-02-13\n    to: 2027-02-06\n    name: 春节\n"),
        4,
        "ends (2027-02-06) before",
    )


def test_a_period_too_long():
    refused(notice(holidays="  - {from: 2027-01-01, to: 2027-12-13, name: 春节}\n"), 3, "more than 31 days")


def test_a_single_day_off_on_a_weekend():
    # 2027-01-02 is a Saturday: off anyway. Listed within a period it is fine.
    refused(
        notice(holidays="  - {date: 2027-01-01, name: 元旦}\n  - {date: 2027-01-02, name: 元旦}\n"),
        4,
        "Saturday",
    )
    assert len(parse(notice(holidays="  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}\n")).holidays) == 3


def test_a_working_day_that_is_a_weekday():
    refused(
        notice(working="  - {date: 2027-02-15, name: 春节调休}\n"),
        5,
        "2027-02-15 is a Monday, a working day anyway",
    )


def test_a_working_day_as_a_period():
    refused(
        notice(working="  - {from: 2027-02-14, to: 2027-02-15, name: 春节调休}\n"), 5, "unknown key 'from'"
    )


def test_a_day_both_off_and_worked():
    text = notice(
        holidays="  - {from: 2027-02-06, to: 2027-02-13, name: 春节}\n",
        working="  - {date: 2027-02-14, name: 春节调休}\n  - {date: 2027-02-13, name: 春节调休}\n",
    )
    refused(text, 6, "2027-02-13 is both a day off (line 3) and a working day")


def test_a_day_listed_twice():
    text = notice(
        holidays="  - {from: 2027-02-06, to: 2027-02-13, name: 春节}\n  - {date: 2027-02-08, name: 春节}\n"
    )
    refused(text, 4, "2027-02-08 is listed twice (line 3)")


def test_overlapping_periods():
    text = notice(
        holidays="  - {from: 2027-09-30, to: 2027-10-03, name: 中秋节}\n"
        "  - {from: 2027-10-01, to: 2027-10-07, name: 国庆节}\n"
    )
    refused(text, 4, "2027-10-01 is listed twice (line 3)")


def test_a_working_day_listed_twice():
    text = notice(working="  - {date: 2027-02-14, name: 春节调休}\n  - {date: 2027-02-14, name: 春节调休}\n")
    refused(text, 6, "listed twice (line 5)")


@pytest.mark.parametrize("name", ["''", "'   '", "2027", "true", "[春节]", "'" + "长" * 101 + "'"])
def test_a_name_that_is_not_one(name):
    refused(notice(holidays=f"  - date: 2027-01-01\n    name: {name}\n"), 4, "a name is text")


def test_json_escapes_are_read_as_json_reads_them():
    text = '{"year": 2027, "holidays": [{"date": "2027-01-01", "name": "\\u5143\\u65e6 a\\/b"}]}'
    assert json.loads(text)["holidays"][0]["name"] == "元旦 a/b"
    assert parse(text).holidays[0].name == "元旦 a/b"
