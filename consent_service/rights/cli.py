"""``flask calendar``: load a year's holiday notice, and show what the calendar knows."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from consent_service.clock import utcnow
from consent_service.commands import command_transaction, echo_json
from consent_service.holidays import CalendarUnknown, HolidayCalendar
from consent_service.rights.calendar_data import (
    current_calendar,
    load_notice,
    loaded_days,
    loaded_notices,
)
from consent_service.rights.notice_files import read_notice
from consent_service.rights.sweeps import recompute_provisional

calendar = AppGroup("calendar", help="The working-day calendar: the State Council's holiday notices.")


@calendar.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@command_transaction
def load(file: Path) -> None:
    """Load a year's notice from FILE (YAML or JSON, see the README), replacing that year.

    Prints the year, its days off and working weekend days, how far the calendar now reaches,
    and how many provisional deadlines were counted again. A wrong file exits 1 naming its line;
    nothing is loaded then.
    """
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text") from exc
    now = utcnow()
    notice = load_notice(
        read_notice(text), now, source=f"{file.name} sha256:{hashlib.sha256(raw).hexdigest()}"
    )
    recomputed = recompute_provisional(now)
    days = loaded_days(notice.year)
    working = sum(day.is_working_day for day in days)
    echo_json(
        {
            "year": notice.year,
            "holidays": len(days) - working,
            "working_days": working,
            "known_through": _known_through(current_calendar()),
            "provisional_recomputed": recomputed,
        }
    )


@calendar.command("show")
@click.option("--year", type=int, help="Also list the days off and the weekend days worked in this year.")
def show(year: int | None) -> None:
    """Show through which day the calendar knows working days, and the notices loaded.

    With ``--year``, the year's exceptions (weekdays off, weekend days worked) and where they
    come from: a loaded notice (with the holidays' names), the package, or nowhere (unknown).
    """
    known = current_calendar()
    shown: dict[str, Any] = {
        "calendar": current_app.config.get("HOLIDAY_CALENDAR", "chinese"),
        "known_through": _known_through(known),
        "notices": loaded_notices(),
    }
    if year is not None:
        shown["year"] = _year(year, known)
    echo_json(shown)


def _year(year: int, calendar: HolidayCalendar) -> dict[str, Any]:
    """Where ``year``'s working days come from, and its exceptions."""
    loaded = loaded_days(year)
    if loaded:
        days = [(day.day, day.is_working_day, day.name) for day in loaded]
        source = "notice"
    else:
        try:
            days = [(day, worked, "") for day, worked in _exceptions(year, calendar)]
            source = "calendar"
        except CalendarUnknown:
            days, source = [], "unknown"
    return {
        "year": year,
        "source": source,
        "days": [
            {"date": day.isoformat(), "is_working_day": worked, "name": name} for day, worked, name in days
        ],
    }


def _exceptions(year: int, calendar: HolidayCalendar) -> list[tuple[date, bool]]:
    """The weekdays off and weekend days worked in ``year`` (:class:`CalendarUnknown` if unknown)."""
    first = date(year, 1, 1)
    exceptions = []
    for offset in range((date(year + 1, 1, 1) - first).days):
        day = first + timedelta(days=offset)
        if day > calendar.known_through():
            raise CalendarUnknown(day, calendar.known_through())
        worked = calendar.is_working_day(day)
        if worked != (day.weekday() < 5):
            exceptions.append((day, worked))
    return exceptions


def _known_through(calendar: HolidayCalendar) -> str:
    """The last day ``calendar`` knows, or ``every day`` for one that knows them all."""
    known = calendar.known_through()
    return "every day" if known == date.max else known.isoformat()
