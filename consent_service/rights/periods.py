"""Periods of calendar days, PRC working days and months: month arithmetic, and how long a
period can last, so that one period can be proven never longer than another.

A period in months follows the EU rule for periods (Regulation 1182/71 Art. 3(2)(c)), which
GDPR Art. 12(3)'s "one month" is read by: counted from a day, it ends on the same date of the
month the count reaches, or on that month's last day when the date does not occur there
(received 5 August, due 5 September; received 31 January, due 28 or 29 February).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

CALENDAR_DAYS = "calendar_days"
WORKING_DAYS = "working_days"
MONTHS = "months"
#: The units a period is counted in.
UNITS = (CALENDAR_DAYS, WORKING_DAYS, MONTHS)

#: ``(amount, unit)``: e.g. ``(15, "working_days")``.
Period = tuple[int, str]

#: One whole Gregorian cycle: every pattern of month lengths and leap years occurs in it.
_CYCLE_YEARS = range(2000, 2400)
#: A period counted from any day up to the 28th lasts as long as one from the 1st of its month;
#: only the days that may be cut to a shorter month's end differ.
_DAYS_THAT_DIFFER = (1, 29, 30, 31)


def add_months(day: date, months: int) -> date:
    """The same date ``months`` months after ``day``, or that month's last day when it has no such
    date (Regulation 1182/71 Art. 3(2)(c)): 2026-01-31 plus one month is 2026-02-28."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def days_in_months(start: date, months: int) -> int:
    """How many calendar days a period of ``months`` months counted from ``start`` lasts."""
    return (add_months(start, months) - start).days


def describe(amount: int, unit: str) -> str:
    """A period in words: ``15 working days``, ``1 month``, ``30 calendar days``."""
    words = {CALENDAR_DAYS: "calendar day", WORKING_DAYS: "working day", MONTHS: "month"}[unit]
    return f"{amount} {words}{'' if amount == 1 else 's'}"


def describe_zh(amount: int, unit: str) -> str:
    """A period in Chinese: ``15 个工作日``, ``1 个月``, ``30 日``."""
    words = {CALENDAR_DAYS: "日", WORKING_DAYS: "个工作日", MONTHS: "个月"}[unit]
    return f"{amount} {words}"


def never_longer(proposed: Sequence[Period], limit: Sequence[Period]) -> bool:
    """Whether periods ``proposed``, one after the other, end no later than ``limit``'s, whatever
    day they start on and whatever the holiday calendar says.

    In one unit the amounts compare. Across units it takes a proof: the longest ``proposed`` can
    last against the shortest ``limit`` can. A working day lasts at least a calendar day and has
    no upper bound (a holiday week, or a notice not yet published), so working days are never
    proven shorter than a period in another unit.
    """
    proposed, limit = merge(proposed), merge(limit)
    if len(proposed) == len(limit) == 1 and proposed[0][1] == limit[0][1]:
        return proposed[0][0] <= limit[0][0]
    longest = _longest(proposed)
    return longest is not None and longest <= _shortest(limit)


def merge(periods: Sequence[Period]) -> list[Period]:
    """Consecutive periods in the same unit as one: one month then two months is three months
    from the start, not two months from the end of a short February."""
    merged: list[Period] = []
    for amount, unit in periods:
        if merged and merged[-1][1] == unit:
            merged[-1] = (merged[-1][0] + amount, unit)
        elif amount:
            merged.append((amount, unit))
    return merged


def _shortest(periods: Sequence[Period]) -> int:
    """The fewest calendar days the periods can last together."""
    return sum(month_span(amount)[0] if unit == MONTHS else amount for amount, unit in periods)


def _longest(periods: Sequence[Period]) -> int | None:
    """The most calendar days the periods can last together; ``None`` when there is no bound."""
    total = 0
    for amount, unit in periods:
        if unit == WORKING_DAYS:
            return None
        total += month_span(amount)[1] if unit == MONTHS else amount
    return total


@lru_cache(maxsize=64)
def month_span(months: int) -> tuple[int, int]:
    """The fewest and the most calendar days ``months`` months can last (one month: 28 to 31)."""
    spans = [
        days_in_months(date(year, month, day), months)
        for year in _CYCLE_YEARS
        for month in range(1, 13)
        for day in _DAYS_THAT_DIFFER
        if day <= monthrange(year, month)[1]
    ]
    return min(spans), max(spans)
