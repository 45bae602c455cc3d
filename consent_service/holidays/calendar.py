"""Working days (工作日) after the State Council's annual holiday notice, and counting them.

A notice names each year's public holidays and the weekend days moved into working days
(调休), e.g. Sunday 2025-09-28 and Saturday 2025-10-11. It appears around November of the
year before, so no calendar knows every year: each says how far its data reaches
(:meth:`HolidayCalendar.known_through`) and raises :class:`CalendarUnknown` for a day past
that instead of guessing. Deadlines in working days (GB/T 35273 8.5, App认定方法 §6: 15
working days) are :func:`add_working_days`, a pure function of its inputs and a calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Protocol

import chinese_calendar
from flask import Flask

from consent_service.config import ConfigurationError
from consent_service.errors import DomainError

#: The ``HOLIDAY_CALENDAR`` settings :func:`from_config` knows.
CALENDARS = ("chinese", "weekends")


class CalendarUnknown(DomainError):
    """The calendar has no data for a day (the holiday notice for its year is not loaded)."""

    code = "calendar_unknown"
    status = 503

    def __init__(self, day: date, known_through: date) -> None:
        """Name the day asked for and the last day the calendar knows."""
        super().__init__(
            f"the working-day calendar has no data for {day.isoformat()} "
            f"(it knows days through {known_through.isoformat()})",
            details={"date": day.isoformat(), "knownThrough": known_through.isoformat()},
        )
        self.day = day
        self.known_through = known_through


class HolidayCalendar(Protocol):
    """Which days are working days, as far as the calendar's data reaches."""

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day; :class:`CalendarUnknown` past :meth:`known_through`."""
        ...

    def known_through(self) -> date:
        """The last day whose status the data actually knows."""
        ...


def add_working_days(start: date, count: int, calendar: HolidayCalendar) -> date:
    """The day ``count`` working days after ``start`` (GB/T 35273 8.5: 15 working days).

    ``start`` itself is not counted, whatever it is: the count begins the next day, so a
    request received on Friday 2025-09-26 with 15 working days is due on 2025-10-23. A count
    of 0 is ``start``. ``start`` is a calendar day where the request was received (Asia/Shanghai),
    not a UTC moment: a :class:`~datetime.datetime` is refused rather than cut to its UTC date.
    Raises :class:`CalendarUnknown` when the count runs past what ``calendar`` knows.
    """
    _check_day(start)
    if count < 0:
        raise ValueError(f"a deadline counts forward: {count} working days")
    day = start
    while count:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count -= 1
    return day


class WeekendCalendar:
    """Monday to Friday, with explicit exceptions; knows every day.

    The fake for tests, and the fallback for deployments outside China: ``holidays`` are
    weekdays off, ``working_weekend_days`` Saturdays or Sundays worked.
    """

    def __init__(self, holidays: Iterable[date] = (), working_weekend_days: Iterable[date] = ()) -> None:
        """Keep the exceptions; a day cannot be both off and worked."""
        self.holidays = frozenset(holidays)
        self.working_weekend_days = frozenset(working_weekend_days)
        both = self.holidays & self.working_weekend_days
        if both:
            raise ValueError(f"days both off and worked: {sorted(d.isoformat() for d in both)}")

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday unless listed as a holiday; a listed weekend day is worked."""
        _check_day(day)
        if day in self.working_weekend_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def known_through(self) -> date:
        """Every day is known."""
        return date.max


class ChineseCalendar:
    """The PRC calendar of the ``chinese-calendar`` package, under the operator's own days.

    ``days`` maps days to whether they are worked, from a notice the package does not have yet
    (or a correction): they take precedence over the package. ``notice_years`` names the years
    whose whole notice is in ``days``: in such a year a day not listed is a plain weekday or
    weekend day. A year neither the package nor a notice covers is unknown (only a day listed
    in ``days`` is answered there), and so is everything after it: :meth:`known_through` is the
    end of the last year reached without a gap.
    """

    def __init__(self, days: Mapping[date, bool] | None = None, notice_years: Iterable[int] = ()) -> None:
        """Check the operator's days and work out how far the data reaches."""
        self.days = dict(days or {})
        for day, is_working in self.days.items():
            _check_day(day)
            if not isinstance(is_working, bool):
                raise TypeError(f"{day.isoformat()}: worked is True or False, not {is_working!r}")
        first, last = _package_years()
        self.first_known = date(first, 1, 1)
        self.package_last_year = last
        years = set(range(first, last + 1)) | set(notice_years)
        while last + 1 in years:
            last += 1
        self.last_known = date(last, 12, 31)

    def is_working_day(self, day: date) -> bool:
        """Operator days first; then the package; beyond both, :class:`CalendarUnknown`."""
        _check_day(day)
        if day in self.days:
            return self.days[day]
        if not self.first_known <= day <= self.last_known:
            raise CalendarUnknown(day, self.last_known)
        if day.year > self.package_last_year:  # a year of an operator-loaded notice
            return day.weekday() < 5
        return chinese_calendar.is_workday(day)

    def known_through(self) -> date:
        """The last day of the last year the package or a loaded notice covers, without a gap."""
        return self.last_known


def from_config(app: Flask) -> HolidayCalendar:
    """The calendar ``HOLIDAY_CALENDAR`` names: ``chinese`` (default) or ``weekends``."""
    name = app.config.get("HOLIDAY_CALENDAR", "chinese")
    if name == "chinese":
        return ChineseCalendar()
    if name == "weekends":
        return WeekendCalendar()
    raise ConfigurationError(f"HOLIDAY_CALENDAR must be one of {', '.join(CALENDARS)}, not {name!r}")


def _package_years() -> tuple[int, int]:
    """The first and last year the package has data for (it refuses the others)."""
    known = chinese_calendar.holidays
    return min(known).year, max(known).year


def _check_day(day: object) -> None:
    """Refuse anything but a plain date (a datetime's date would be its UTC date, not Shanghai's)."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"a calendar day (datetime.date) is needed, not {type(day).__name__}")
