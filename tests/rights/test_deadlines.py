"""When a request is due: counted from the local day the clock starts, after the PRC notices,
with pauses and extensions, provisional (and never late) past the calendar's data; and when to
remind before it.

The PRC dates come from the ``chinese-calendar`` package (its 2025 and 2026 data are checked
against the notices in ``tests/holidays/test_calendar.py``); each expected date was counted by
hand from those notices.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from consent_service.holidays import ChineseCalendar, WeekendCalendar
from consent_service.rights.deadlines import (
    DEFAULT_RULES,
    Due,
    ExtensionNotAllowed,
    Rule,
    compute_due,
    extension_notice_due,
    reminder_times,
    rule_for,
)
from tests.rights.calendars import KnownThrough, NeverAsked

D = date.fromisoformat
SHANGHAI = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
PIPL_15_WORKING_DAYS = rule_for("PIPL", "deletion")
PIPL_30_DAYS = rule_for("PIPL", "access")
GDPR_MONTH = rule_for("GDPR", "access")


@pytest.fixture(scope="module")
def cn() -> ChineseCalendar:
    return ChineseCalendar()


def local(text: str, zone: str = SHANGHAI) -> datetime:
    """A moment written as local time in ``zone``, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def days(first: str, last: str) -> tuple[date, ...]:
    """Every day from ``first`` to ``last``, both included."""
    start, end = D(first), D(last)
    return tuple(start + timedelta(n) for n in range((end - start).days + 1))


def due_day(rule: Rule, start: str, calendar, zone: str = SHANGHAI, **kwargs) -> date:
    """The last day of ``rule`` counted from ``start`` (local time in ``zone``)."""
    return compute_due(rule, local(start, zone), zone, calendar, **kwargs).last_day


# --- working days after the PRC notices ------------------------------------------------------


def test_fifteen_working_days_over_national_day_2025(cn):
    due = compute_due(PIPL_15_WORKING_DAYS, local("2025-09-26T10:00"), SHANGHAI, cn)
    assert due.last_day == D("2025-10-23")
    assert due.at == datetime(2025, 10, 23, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    assert due.at.tzinfo is UTC
    assert due.provisional is False
    # Sun 09-28 and Sat 10-11 worked (调休); 10-01..08 off.
    assert due.counted == (
        *days("2025-09-28", "2025-09-30"),
        *days("2025-10-09", "2025-10-11"),
        *days("2025-10-13", "2025-10-17"),
        *days("2025-10-20", "2025-10-23"),
    )
    assert due.skipped == (
        D("2025-09-27"),
        *days("2025-10-01", "2025-10-08"),
        D("2025-10-12"),
        *days("2025-10-18", "2025-10-19"),
    )
    assert due.paused == ()


def test_spring_festival_2026_with_its_make_up_days(cn):
    due = compute_due(PIPL_15_WORKING_DAYS, local("2026-02-13T09:30"), SHANGHAI, cn)
    assert due.last_day == D("2026-03-12")
    assert due.at == datetime(2026, 3, 12, 15, 59, 59, tzinfo=UTC)
    assert D("2026-02-14") in due.counted and D("2026-02-28") in due.counted  # Saturdays worked
    assert set(days("2026-02-15", "2026-02-23")) <= set(due.skipped)
    assert len(due.counted) == 15
    assert sorted(due.counted + due.skipped) == list(days("2026-02-14", "2026-03-12"))


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        # Labour Day 2026: 05-01..05 off, Sat 05-09 worked.
        ("2026-04-28T10:00", 15, "2026-05-21"),
        ("2026-04-30T10:00", 4, "2026-05-09"),
        # Labour Day 2025: Sun 04-27 worked, 05-01..05 off.
        ("2025-04-30T10:00", 1, "2025-05-06"),
        # A request on a holiday: neither it nor the holidays after it count.
        ("2025-10-01T10:00", 1, "2025-10-09"),
        # Across a new year: 2026-01-01..03 off, Sun 01-04 worked.
        ("2025-12-31T10:00", 1, "2026-01-04"),
    ],
)
def test_working_days_across_holidays(cn, start, count, due):
    assert due_day(Rule(count, "working_days"), start, cn) == D(due)


def test_the_local_day_counts_not_the_utc_one(cn):
    # 00:30 on Friday 2025-09-26 in Shanghai is still Thursday in UTC: Friday is the start day.
    assert local("2025-09-26T00:30").date() == D("2025-09-25")
    assert due_day(PIPL_15_WORKING_DAYS, "2025-09-26T00:30", cn) == D("2025-10-23")
    # One hour earlier it is Thursday in Shanghai too: a day earlier.
    assert due_day(PIPL_15_WORKING_DAYS, "2025-09-25T23:30", cn) == D("2025-10-22")
    # Late in the evening in Shanghai is the same day in UTC, and counts as that day.
    assert due_day(PIPL_15_WORKING_DAYS, "2025-09-26T23:59:59", cn) == D("2025-10-23")


def test_the_start_given_in_any_offset_is_the_same_moment(cn):
    start = datetime(2025, 9, 25, 16, 30, tzinfo=UTC)  # Friday 00:30 in Shanghai
    offset = start.astimezone(ZoneInfo("America/New_York"))
    assert compute_due(PIPL_15_WORKING_DAYS, start, SHANGHAI, cn) == compute_due(
        PIPL_15_WORKING_DAYS, offset, SHANGHAI, cn
    )
    assert compute_due(PIPL_15_WORKING_DAYS, start, SHANGHAI, cn).last_day == D("2025-10-23")


def test_a_naive_start_is_refused(cn):
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_due(PIPL_15_WORKING_DAYS, datetime(2025, 9, 26, 10), SHANGHAI, cn)
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_due(PIPL_15_WORKING_DAYS, D("2025-09-26"), SHANGHAI, cn)


def test_an_unknown_zone_is_refused(cn):
    with pytest.raises(KeyError):
        compute_due(PIPL_15_WORKING_DAYS, local("2025-09-26T10:00"), "Mars/Olympus", cn)


def test_the_weekend_calendar(cn):
    # Outside China: Monday to Friday, National Day is ordinary weeks.
    assert due_day(PIPL_15_WORKING_DAYS, "2025-09-26T10:00", WeekendCalendar()) == D("2025-10-17")


# --- calendar days -------------------------------------------------------------------------------


def test_thirty_calendar_days(cn):
    due = compute_due(PIPL_30_DAYS, local("2026-01-10T10:00"), SHANGHAI, NeverAsked())
    assert due.last_day == D("2026-02-09")
    assert due.at == datetime(2026, 2, 9, 15, 59, 59, tzinfo=UTC)
    assert due.counted == days("2026-01-11", "2026-02-09")
    assert (due.skipped, due.paused, due.provisional) == ((), (), False)


def test_calendar_days_run_through_holidays(cn):
    # Spring Festival is counted like any other day.
    assert due_day(PIPL_30_DAYS, "2026-02-13T10:00", cn) == D("2026-03-15")


def test_calendar_days_from_just_after_midnight_in_shanghai():
    # 2026-01-10 00:30 in Shanghai is 2026-01-09 in UTC: still 30 days from the 10th.
    assert local("2026-01-10T00:30").date() == D("2026-01-09")
    assert due_day(PIPL_30_DAYS, "2026-01-10T00:30", NeverAsked()) == D("2026-02-09")


def test_calendar_days_past_the_known_data_are_never_provisional(cn):
    due = compute_due(PIPL_30_DAYS, local("2026-12-20T10:00"), SHANGHAI, cn)
    assert cn.known_through() == D("2026-12-31")
    assert (due.last_day, due.provisional) == (D("2027-01-19"), False)
    assert compute_due(PIPL_30_DAYS, local("2031-06-01T10:00"), SHANGHAI, NeverAsked()).provisional is False


# --- months (GDPR Art. 12(3), Regulation 1182/71 Art. 3) --------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        ("2026-08-05", 1, "2026-09-05"),  # the same date of the next month
        ("2026-01-31", 1, "2026-02-28"),  # no 31st in February: its last day
        ("2028-01-31", 1, "2028-02-29"),  # a leap year
        ("2026-01-30", 1, "2026-02-28"),
        ("2026-01-28", 1, "2026-02-28"),
        ("2026-02-28", 1, "2026-03-28"),  # from a month's end: the same date, not the month's end
        ("2026-03-31", 1, "2026-04-30"),
        ("2026-12-31", 1, "2027-01-31"),  # into the next year
        ("2026-12-15", 3, "2027-03-15"),
        ("2026-11-30", 3, "2027-02-28"),
        ("2027-11-30", 3, "2028-02-29"),
        ("2026-05-31", 12, "2027-05-31"),
        ("2028-02-29", 12, "2029-02-28"),
    ],
)
def test_months_end_on_the_same_date_or_the_months_last_day(start, months, due):
    rule = Rule(months, "months")
    result = compute_due(rule, local(f"{start}T12:00", BERLIN), BERLIN, NeverAsked())
    assert result.last_day == D(due)
    assert result.counted == days((D(start) + timedelta(1)).isoformat(), due)
    assert result.provisional is False


def test_a_month_ends_at_midnight_in_the_organizations_zone():
    due = compute_due(GDPR_MONTH, local("2026-01-31T23:30", BERLIN), BERLIN, NeverAsked())
    assert due.last_day == D("2026-02-28")
    assert due.at == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)  # CET is UTC+1
    summer = compute_due(GDPR_MONTH, local("2026-06-10T09:00", BERLIN), BERLIN, NeverAsked())
    assert summer.at == datetime(2026, 7, 10, 21, 59, 59, tzinfo=UTC)  # CEST is UTC+2


def test_a_gdpr_request_at_night_counts_from_its_local_day():
    # 00:30 on 1 March in Berlin is still 28 February in UTC.
    start = local("2026-03-01T00:30", BERLIN)
    assert start.date() == D("2026-02-28")
    assert compute_due(GDPR_MONTH, start, BERLIN, NeverAsked()).last_day == D("2026-04-01")


# --- extensions ----------------------------------------------------------------------------------


def test_a_gdpr_extension_adds_two_months_counted_from_receipt():
    start = local("2026-03-15T10:00", BERLIN)
    assert compute_due(GDPR_MONTH, start, BERLIN, NeverAsked()).last_day == D("2026-04-15")
    extended = compute_due(GDPR_MONTH, start, BERLIN, NeverAsked(), extended=True)
    assert extended.last_day == D("2026-06-15")
    assert extended.counted == days("2026-03-16", "2026-06-15")


def test_an_extension_is_three_months_from_the_start_not_two_from_a_short_february():
    start = local("2026-01-31T10:00", BERLIN)
    assert compute_due(GDPR_MONTH, start, BERLIN, NeverAsked()).last_day == D("2026-02-28")
    assert compute_due(GDPR_MONTH, start, BERLIN, NeverAsked(), extended=True).last_day == D("2026-04-30")


def test_the_extension_is_notified_within_the_first_month():
    start = local("2026-01-31T10:00", BERLIN)
    notice = extension_notice_due(GDPR_MONTH, start, BERLIN, NeverAsked())
    assert notice.last_day == D("2026-02-28")
    assert notice.at == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)


def test_an_extension_in_another_unit_counts_from_the_first_periods_end(cn):
    rule = Rule(
        15, "working_days", extension_amount=5, extension_unit="calendar_days", extension_notice_within=10
    )
    due = compute_due(rule, local("2025-09-26T10:00"), SHANGHAI, cn, extended=True)
    assert due.last_day == D("2025-10-28")  # 2025-10-23 and five calendar days


def test_pipl_allows_no_extension(cn):
    with pytest.raises(ExtensionNotAllowed, match="no extension"):
        compute_due(PIPL_15_WORKING_DAYS, local("2025-09-26T10:00"), SHANGHAI, cn, extended=True)
    with pytest.raises(ExtensionNotAllowed):
        extension_notice_due(PIPL_30_DAYS, local("2025-09-26T10:00"), SHANGHAI, cn)
    assert ExtensionNotAllowed.status == 422


# --- pauses --------------------------------------------------------------------------------------

# November 2025 has no holiday: from Monday 11-03, 15 working days end on Monday 11-24.
MONDAY = "2025-11-03T10:00"
WEEKEND_PAUSE = (local("2025-11-07T10:00"), local("2025-11-10T09:00"))  # Friday to Monday


def test_no_pause(cn):
    assert due_day(PIPL_15_WORKING_DAYS, MONDAY, cn) == D("2025-11-24")
    assert due_day(PIPL_30_DAYS, MONDAY, cn) == D("2025-12-03")


def test_a_pause_over_a_weekend_for_working_days(cn):
    due = compute_due(PIPL_15_WORKING_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[WEEKEND_PAUSE])
    # Saturday and Sunday were not working days anyway; Monday is lost to the pause.
    assert due.paused == days("2025-11-08", "2025-11-10")
    assert due.last_day == D("2025-11-25")
    assert D("2025-11-10") not in due.counted and D("2025-11-07") in due.counted
    assert not set(due.paused) & set(due.skipped)


def test_a_pause_over_a_weekend_for_calendar_days(cn):
    due = compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[WEEKEND_PAUSE])
    assert due.paused == days("2025-11-08", "2025-11-10")
    assert due.last_day == D("2025-12-06")  # three days added back
    assert len(due.counted) == 30


def test_a_pause_for_months():
    due = compute_due(
        GDPR_MONTH,
        local("2026-01-31T10:00", BERLIN),
        BERLIN,
        NeverAsked(),
        pauses=[(local("2026-02-02T10:00", BERLIN), local("2026-02-05T16:00", BERLIN))],
    )
    assert due.paused == days("2026-02-03", "2026-02-05")
    assert due.last_day == D("2026-03-03")  # 28 February and three days


def test_a_pause_within_one_day_adds_nothing(cn):
    pause = (local("2025-11-07T10:00"), local("2025-11-07T17:00"))
    assert due_day(PIPL_15_WORKING_DAYS, MONDAY, cn, pauses=[pause]) == D("2025-11-24")


def test_pauses_are_in_local_days(cn):
    # Paused 23:30 Friday and resumed 00:30 Saturday in Shanghai: Saturday is added back;
    # in UTC both moments are on Friday.
    pause = (local("2025-11-07T23:30"), local("2025-11-08T00:30"))
    assert pause[0].date() == pause[1].date()
    due = compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[pause])
    assert due.paused == (D("2025-11-08"),)


def test_two_pauses_and_an_overlap(cn):
    pauses = [
        WEEKEND_PAUSE,
        (local("2025-11-09T08:00"), local("2025-11-11T08:00")),  # overlaps: Monday, Tuesday
        (local("2025-11-14T08:00"), local("2025-11-17T08:00")),  # Saturday to Monday
    ]
    due = compute_due(PIPL_15_WORKING_DAYS, local(MONDAY), SHANGHAI, cn, pauses=pauses)
    assert due.paused == (*days("2025-11-08", "2025-11-11"), *days("2025-11-15", "2025-11-17"))
    assert due.last_day == D("2025-11-27")  # three working days lost: Mon 10, Tue 11, Mon 17


def test_a_pause_after_the_due_date_changes_nothing(cn):
    late = (local("2025-12-01T10:00"), local("2025-12-05T10:00"))
    assert due_day(PIPL_15_WORKING_DAYS, MONDAY, cn, pauses=[late]) == D("2025-11-24")


def test_an_open_pause_counts_to_now(cn):
    pause = (local("2025-11-07T10:00"), None)
    now = local("2025-11-12T15:00")
    due = compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[pause], now=now)
    assert due.paused == days("2025-11-08", "2025-11-12")
    assert due.last_day == D("2025-12-08")
    # Resumed at that moment, the due date is the same; resumed later, it moves later.
    closed = compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[(pause[0], now)])
    assert closed == due
    later = compute_due(
        PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[pause], now=now + timedelta(days=2)
    )
    assert later.last_day == D("2025-12-10")


def test_an_open_pause_needs_now(cn):
    with pytest.raises(ValueError, match="needs now"):
        compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[(local("2025-11-07T10:00"), None)])


def test_a_pause_resumed_before_it_began_is_refused(cn):
    with pytest.raises(ValueError, match="resumed before"):
        compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn, pauses=[tuple(reversed(WEEKEND_PAUSE))])
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_due(
            PIPL_30_DAYS,
            local(MONDAY),
            SHANGHAI,
            cn,
            pauses=[(datetime(2025, 11, 7), None)],
            now=local(MONDAY),
        )


# --- past what the calendar knows ----------------------------------------------------------------


def test_working_days_past_the_known_data_are_provisional(cn):
    assert cn.known_through() == D("2026-12-31")
    due = compute_due(PIPL_15_WORKING_DAYS, local("2026-12-24T10:00"), SHANGHAI, cn)
    # Five known working days in 2026 (12-25, 28, 29, 30, 31), then every 2027 day counts.
    assert due.provisional is True
    assert due.last_day == D("2027-01-10")
    assert due.counted[5:] == days("2027-01-01", "2027-01-10")
    # With the notice loaded (New Year's Day off) the true date is later, never earlier.
    loaded = ChineseCalendar({D("2027-01-01"): False}, notice_years=[2027])
    true = compute_due(PIPL_15_WORKING_DAYS, local("2026-12-24T10:00"), SHANGHAI, loaded)
    assert (true.last_day, true.provisional) == (D("2027-01-15"), False)
    assert due.at < true.at


def test_a_count_ending_within_the_known_data_is_not_provisional(cn):
    due = compute_due(PIPL_15_WORKING_DAYS, local("2026-12-01T10:00"), SHANGHAI, cn)
    assert (due.last_day, due.provisional) == (D("2026-12-22"), False)
    # The last known day itself is known.
    assert compute_due(Rule(1, "working_days"), local("2026-12-30T10:00"), SHANGHAI, cn).provisional is False


def test_unknown_weekend_days_count_as_they_might_be_worked():
    calendar = KnownThrough(WeekendCalendar(), D("2025-11-05"))
    due = compute_due(PIPL_15_WORKING_DAYS, local(MONDAY), SHANGHAI, calendar)
    assert due.provisional is True
    # 11-04, 11-05 known; then every day: 13 more.
    assert due.last_day == D("2025-11-18")
    assert due.skipped == ()
    assert (
        due.last_day < compute_due(PIPL_15_WORKING_DAYS, local(MONDAY), SHANGHAI, WeekendCalendar()).last_day
    )


@pytest.mark.parametrize("last_known", ["2025-09-30", "2025-10-03", "2026-02-13", "2026-02-16", "2026-04-30"])
def test_the_provisional_date_is_never_later_than_the_true_one(cn, last_known):
    """From every day of seven months, against the PRC calendar cut short at ``last_known``."""
    short = KnownThrough(cn, D(last_known))
    for offset in range(0, 214):
        start = local("2025-09-20T10:00") + timedelta(days=offset)
        for rule in (PIPL_15_WORKING_DAYS, Rule(1, "working_days"), Rule(5, "working_days")):
            guess = compute_due(rule, start, SHANGHAI, short)
            true = compute_due(rule, start, SHANGHAI, cn)
            assert guess.last_day <= true.last_day, (start, rule.amount)
            if not guess.provisional:
                assert guess == true
            if guess.last_day < true.last_day:
                assert guess.provisional


def test_a_provisional_date_moves_later_when_the_days_become_known(cn):
    short = KnownThrough(cn, D("2026-02-10"))
    guess = compute_due(PIPL_15_WORKING_DAYS, local("2026-02-06T10:00"), SHANGHAI, short)
    true = compute_due(PIPL_15_WORKING_DAYS, local("2026-02-06T10:00"), SHANGHAI, cn)
    assert (guess.last_day, guess.provisional) == (D("2026-02-23"), True)
    assert (true.last_day, true.provisional) == (D("2026-03-05"), False)


def test_due_is_a_frozen_value(cn):
    due = compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn)
    assert isinstance(due, Due)
    with pytest.raises(AttributeError):
        due.last_day = D("2030-01-01")


def test_every_default_rule_can_be_counted(cn):
    for (regime, code), rule in DEFAULT_RULES.items():
        zone = SHANGHAI if regime == "PIPL" else BERLIN
        due = compute_due(
            rule, local("2025-09-26T10:00", zone), zone, cn, extended=bool(rule.extension_amount)
        )
        assert D("2025-10-20") <= due.last_day <= D("2025-12-26"), (regime, code)


# --- reminders -----------------------------------------------------------------------------------


def test_reminders_before_a_working_day_deadline(cn):
    due = compute_due(PIPL_15_WORKING_DAYS, local("2025-09-26T10:00"), SHANGHAI, cn)
    assert reminder_times(due, timezone=SHANGHAI, calendar=cn) == [
        (5, local("2025-10-16T09:00")),
        (2, local("2025-10-21T09:00")),
        (1, local("2025-10-22T09:00")),
    ]
    assert local("2025-10-22T09:00") == datetime(2025, 10, 22, 1, 0, tzinfo=UTC)


def test_reminders_across_a_holiday(cn):
    # Due Friday 2025-10-10: one working day before is Thursday; two is 09-30, before the
    # holiday; five is 09-26, Sunday 09-28 (worked) counted and Saturday 09-27 not.
    due = compute_due(PIPL_30_DAYS, local("2025-09-10T10:00"), SHANGHAI, cn)
    assert due.last_day == D("2025-10-10")
    assert reminder_times(due, timezone=SHANGHAI, calendar=cn) == [
        (5, local("2025-09-26T09:00")),
        (2, local("2025-09-30T09:00")),
        (1, local("2025-10-09T09:00")),
    ]


def test_reminders_are_before_the_due_moment_earliest_first(cn):
    due = compute_due(PIPL_15_WORKING_DAYS, local("2026-02-13T10:00"), SHANGHAI, cn)
    reminders = reminder_times(due, (1, 10, 3, 3), timezone=SHANGHAI, calendar=cn, hour=14)
    assert [offset for offset, _ in reminders] == [10, 3, 1]
    assert [at for _, at in reminders] == sorted(at for _, at in reminders)
    assert all(at < due.at for _, at in reminders)
    assert reminders[0] == (10, local("2026-02-27T14:00"))
    assert reminder_times(due, (0,), timezone=SHANGHAI, calendar=cn) == [(0, local("2026-03-12T09:00"))]


def test_reminder_arguments_are_checked(cn):
    due = compute_due(PIPL_30_DAYS, local(MONDAY), SHANGHAI, cn)
    with pytest.raises(ValueError, match="hour"):
        reminder_times(due, timezone=SHANGHAI, calendar=cn, hour=24)
    with pytest.raises(ValueError, match="before the due date"):
        reminder_times(due, (2, -1), timezone=SHANGHAI, calendar=cn)


def test_reminders_for_a_gdpr_month_in_berlin():
    calendar = WeekendCalendar()
    due = compute_due(GDPR_MONTH, local("2026-01-31T10:00", BERLIN), BERLIN, calendar)
    assert due.last_day == D("2026-02-28")  # a Saturday
    assert reminder_times(due, (2, 1), timezone=BERLIN, calendar=calendar) == [
        (2, local("2026-02-26T09:00", BERLIN)),
        (1, local("2026-02-27T09:00", BERLIN)),
    ]


def test_reminders_for_a_provisional_deadline_count_back_the_same_way(cn):
    due = compute_due(PIPL_15_WORKING_DAYS, local("2026-12-24T10:00"), SHANGHAI, cn)
    assert (due.last_day, due.provisional) == (D("2027-01-10"), True)
    assert reminder_times(due, timezone=SHANGHAI, calendar=cn) == [
        (5, local("2027-01-05T09:00")),
        (2, local("2027-01-08T09:00")),
        (1, local("2027-01-09T09:00")),
    ]


def test_reminders_for_a_fixed_deadline_past_the_known_data_move_onto_known_days(cn):
    # 30 calendar days: due 2027-01-19 whatever the 2027 notice says; none of the days before it
    # is known to be worked, so the reminders fall on the last known working days.
    due = compute_due(PIPL_30_DAYS, local("2026-12-20T10:00"), SHANGHAI, cn)
    assert (due.last_day, due.provisional) == (D("2027-01-19"), False)
    assert reminder_times(due, timezone=SHANGHAI, calendar=cn) == [
        (5, local("2026-12-25T09:00")),
        (2, local("2026-12-30T09:00")),
        (1, local("2026-12-31T09:00")),
    ]


@pytest.mark.parametrize("last_known", ["2025-09-30", "2025-10-05", "2026-02-13", "2026-02-20"])
def test_reminders_are_never_later_than_with_the_true_calendar(cn, last_known):
    short = KnownThrough(cn, D(last_known))
    for offset in range(0, 200):
        start = local("2025-09-01T10:00") + timedelta(days=offset)
        for rule in (PIPL_15_WORKING_DAYS, PIPL_30_DAYS):
            guessed = reminder_times(
                compute_due(rule, start, SHANGHAI, short), timezone=SHANGHAI, calendar=short
            )
            true = reminder_times(compute_due(rule, start, SHANGHAI, cn), timezone=SHANGHAI, calendar=cn)
            assert [offset for offset, _ in guessed] == [offset for offset, _ in true]
            for (_, guess_at), (_, true_at) in zip(guessed, true, strict=True):
                assert guess_at <= true_at, (start, rule.unit)
