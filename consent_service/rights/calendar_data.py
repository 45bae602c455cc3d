"""The holiday notices an operator loads, and the working-day calendar deadlines are counted by.

The State Council's notice for a year appears around November of the year before, often before
the ``chinese-calendar`` package has it: ``flask calendar load FILE`` reads it
(:mod:`consent_service.rights.notice_files`) and :func:`load_notice` stores the year's days,
replacing that year's as a whole. :func:`current_calendar` is what deadlines use: with
``HOLIDAY_CALENDAR`` ``chinese``, the package under the loaded years (a loaded year is the whole
truth for that year, the package's own data included), so a loaded year counts as known and a
provisional deadline can be counted again (``rights.sweeps.recompute_provisional``, which
``flask calendar load`` runs right after loading).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Boolean, Date, ForeignKey, Integer, Text, case, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.holidays import ChineseCalendar, HolidayCalendar
from consent_service.rights.notice_files import parse_notice
from consent_service.services import lookup
from consent_service.types import UTCDateTime

_CACHE = "consent_service.rights.calendar"


class CalendarNotice(db.Model):
    """A year's holiday notice as an operator loaded it: where it came from, and when."""

    __tablename__ = "calendar_notice"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The file it was read from and its SHA-256, e.g. ``2027.yaml sha256:9f2c...``.
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        """The year alone (text columns stay out of logs, as every model's do)."""
        return f"<CalendarNotice {self.year}>"


class CalendarDay(db.Model):
    """A day a loaded notice names: a day off, or a weekend day moved into work (调休)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_working_day: Mapped[bool] = mapped_column(Boolean)
    #: The holiday's name as the notice gives it (春节, 国庆节, 春节调休...).
    name: Mapped[str] = mapped_column(Text)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_notice.year"), index=True)

    def __repr__(self) -> str:
        """The day and whether it is worked (its name stays out of logs, as every text column does)."""
        return f"<CalendarDay {self.day} {'worked' if self.is_working_day else 'off'}>"


def load_notice(data: Mapping[str, Any], now: datetime, source: str) -> CalendarNotice:
    """Store the notice in ``data`` (see :mod:`~consent_service.rights.notice_files`), replacing
    the days of its year; flushes, the caller's unit of work commits.

    Everything is checked before anything is written: a notice that is wrong anywhere raises
    :class:`~consent_service.rights.notice_files.NoticeInvalid` and nothing changes.
    """
    notice = parse_notice(data)
    if now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    db.session.execute(delete(CalendarDay).where(CalendarDay.year == notice.year))
    row = db.session.get(CalendarNotice, notice.year)
    if row is None:
        row = CalendarNotice(year=notice.year)
        db.session.add(row)
    row.source, row.loaded_at = source, now
    db.session.flush()
    db.session.add_all(
        CalendarDay(day=day.day, is_working_day=day.is_working_day, name=day.name, year=notice.year)
        for day in notice.days
    )
    db.session.flush()
    current_app.extensions.pop(_CACHE, None)
    return row


def calendar_for(app: Flask) -> HolidayCalendar:
    """The working-day calendar deadlines use in ``app`` (whose context must be active).

    With ``HOLIDAY_CALENDAR`` ``chinese``: a :class:`~consent_service.holidays.ChineseCalendar`
    of the package under every loaded notice, built once and kept in the application until a
    notice is loaded (here, or in another process: the number of notices and the newest
    ``loaded_at`` are checked on each call, one small query). Otherwise the calendar the
    application provides (``WeekendCalendar`` for ``weekends``).
    """
    if app.config.get("HOLIDAY_CALENDAR", "chinese") != "chinese":
        return lookup(HolidayCalendar)
    stamp = tuple(db.session.execute(select(func.count(), func.max(CalendarNotice.loaded_at))).one())
    cached = app.extensions.get(_CACHE)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    calendar = _loaded_calendar()
    app.extensions[_CACHE] = (stamp, calendar)
    return calendar


def current_calendar() -> HolidayCalendar:
    """The working-day calendar of the current application (:func:`calendar_for`)."""
    return calendar_for(current_app)


def loaded_notices() -> list[dict[str, Any]]:
    """Each loaded notice, oldest year first: year, source, when, days off and days worked."""
    worked = func.sum(case((CalendarDay.is_working_day, 1), else_=0))
    rows = db.session.execute(
        select(
            CalendarNotice.year,
            CalendarNotice.source,
            CalendarNotice.loaded_at,
            func.count(CalendarDay.day),
            worked,
        )
        .join(CalendarDay, CalendarDay.year == CalendarNotice.year, isouter=True)
        .group_by(CalendarNotice.year, CalendarNotice.source, CalendarNotice.loaded_at)
        .order_by(CalendarNotice.year)
    )
    return [
        {
            "year": year,
            "source": source,
            "loaded_at": loaded_at.isoformat(),
            "holidays": count - (working or 0),
            "working_days": working or 0,
        }
        for year, source, loaded_at, count, working in rows
    ]


def loaded_days(year: int) -> list[CalendarDay]:
    """The days a loaded notice names for ``year``, in date order (none if it is not loaded)."""
    return list(
        db.session.scalars(select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day))
    )


def _loaded_calendar() -> ChineseCalendar:
    """The package's calendar under every loaded year, each year whole: a day the notice does not
    name is a plain weekday or weekend day, whatever the package said."""
    years = list(db.session.scalars(select(CalendarNotice.year)))
    days: dict[date, bool] = {}
    for year in years:
        first = date(year, 1, 1)
        for offset in range((date(year + 1, 1, 1) - first).days):
            day = first + timedelta(days=offset)
            days[day] = day.weekday() < 5
    days.update(
        (day, worked)
        for day, worked in db.session.execute(select(CalendarDay.day, CalendarDay.is_working_day))
    )
    return ChineseCalendar(days=days, notice_years=years)
