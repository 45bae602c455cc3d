"""Calendars the rights tests share: one that knows only up to a day, one that must never be
asked, and a 2027 notice written in the loading format."""

from __future__ import annotations

from datetime import date

from consent_service.holidays import CalendarUnknown, HolidayCalendar


class KnownThrough:
    """``calendar``'s answers up to ``last``, and nothing after: the true calendar cut short, as
    one is before the next year's notice is published."""

    def __init__(self, calendar: HolidayCalendar, last: date) -> None:
        self.calendar = calendar
        self.last = last

    def is_working_day(self, day: date) -> bool:
        if day > self.last:
            raise CalendarUnknown(day, self.last)
        return self.calendar.is_working_day(day)

    def known_through(self) -> date:
        return self.last


class NeverAsked:
    """A calendar that fails if it is consulted at all (calendar days and months need none)."""

    def is_working_day(self, day: date) -> bool:
        raise AssertionError(f"the calendar was asked about {day}")

    def known_through(self) -> date:
        raise AssertionError("the calendar was asked how far it knows")


#: A notice for 2027 in the loading format. The dates are made up for the tests (the real notice
#: had not been published when they were written), but shaped like one: periods off that run
#: over weekends, and Saturdays and Sundays moved into work.
NOTICE_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知 (test data)
year: 2027
holidays:
  - {date: 2027-01-01, name: 元旦}
  - {from: 2027-02-06, to: 2027-02-13, name: 春节}
  - {from: 2027-04-03, to: 2027-04-05, name: 清明节}
  - {from: 2027-05-01, to: 2027-05-05, name: 劳动节}
  - {date: 2027-06-09, name: 端午节}
  - {date: 2027-09-15, name: 中秋节}
  - {from: 2027-10-01, to: 2027-10-07, name: 国庆节}
working_days:
  - {date: 2027-02-14, name: 春节调休}
  - {date: 2027-02-20, name: 春节调休}
  - {date: 2027-04-25, name: 劳动节调休}
  - {date: 2027-05-08, name: 劳动节调休}
  - {date: 2027-09-26, name: 国庆节调休}
  - {date: 2027-10-09, name: 国庆节调休}
"""
NOTICE_2027_DAYS_OFF = 26
NOTICE_2027_WORKING_DAYS = 6
