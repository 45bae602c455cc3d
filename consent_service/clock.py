"""Time as a dependency (house style 6): code asks a clock, tests pass a fixed one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


class SystemClock:
    """The real clock: timezone-aware UTC."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        """Return the fixed time."""
        return self.at

    def advance(self, **kwargs: float) -> datetime:
        """Move the clock forward by a :class:`datetime.timedelta` given as keywords."""
        self.at += timedelta(**kwargs)
        return self.at


def get_clock() -> SystemClock | FixedClock:
    """Return the application's clock (``app.extensions["clock"]``)."""
    return current_app.extensions["clock"]


def utcnow() -> datetime:
    """Return the application clock's current time."""
    return get_clock().now()


def day_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """Days ``first`` to ``last`` (both included) in ``timezone`` as UTC bounds ``[start, end)``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end
