"""When a rights request is due: a pure function of the rule, the moment the clock started, the
organization's time zone and its holiday calendar.

:func:`compute_due` counts a :class:`Rule` (the rules are data, in
:mod:`consent_service.rights.deadline_rules`, whose names this module also offers) and says
what it counted, so that a deadline can be explained day by day; :func:`reminder_times` places
the reminders before it.

The day the clock starts is not counted (GB/T 35273 8.7; Regulation 1182/71 Art. 3(1)); the
request is due at the end of its last day (23:59:59 local). Past what the calendar knows (the
State Council publishes each year's notice around November of the year before) a count in
working days takes every unknown day for a working day, so the date it gives is never later
than the true one, and says so: the result is ``provisional``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from consent_service.errors import DomainError
from consent_service.holidays import HolidayCalendar
from consent_service.rights.deadline_rules import (
    DEFAULT_RULES,
    IDENTITY_VERIFIED,
    RECEIPT,
    REGIMES,
    STARTS,
    DeadlineTooLong,
    NoDeadlineRule,
    Rule,
    check_override,
    rule_for,
)
from consent_service.rights.periods import CALENDAR_DAYS, MONTHS, WORKING_DAYS, days_in_months, merge

__all__ = [
    "DEFAULT_RULES",
    "IDENTITY_VERIFIED",
    "RECEIPT",
    "REGIMES",
    "STARTS",
    "DeadlineTooLong",
    "Due",
    "ExtensionNotAllowed",
    "NoDeadlineRule",
    "Pause",
    "Rule",
    "check_override",
    "compute_due",
    "extension_notice_due",
    "reminder_times",
    "rule_for",
]

#: ``(paused_at, resumed_at)``, both UTC-aware; ``resumed_at`` is ``None`` while the pause lasts.
Pause = tuple[datetime, datetime | None]

_LAST_SECOND = time(23, 59, 59)


class ExtensionNotAllowed(DomainError):
    """The rule allows no extension (PIPL and GB/T 35273 allow none)."""

    code = "extension_not_allowed"
    status = 422


@dataclass(frozen=True)
class Due:
    """When a request is due, and how that was counted (the "deadline explained" view).

    ``at`` is the end of ``last_day`` (23:59:59 in the organization's zone) as UTC; ``counted``
    are the local days counted, ``skipped`` the non-working days passed over (working-day rules),
    ``paused`` the days added back for pauses. ``provisional``: the count ran past what the
    calendar knows and took the unknown days for working days, so ``at`` is never later than the
    true due date and moves later once the notice is loaded.
    """

    at: datetime
    last_day: date
    provisional: bool
    counted: tuple[date, ...]
    skipped: tuple[date, ...] = ()
    paused: tuple[date, ...] = ()


def compute_due(
    rule: Rule,
    start: datetime,
    timezone: str,
    calendar: HolidayCalendar,
    pauses: Sequence[Pause] = (),
    extended: bool = False,
    now: datetime | None = None,
) -> Due:
    """When a request whose clock started at ``start`` is due under ``rule`` (PIPL 50, GB/T 8.5,
    8.7; GDPR Art. 12(3)).

    ``start`` is a UTC-aware moment; its date in ``timezone`` (the organization's) is the day
    the clock starts, which is not counted: a start at 00:30 on a Saturday in Shanghai (16:30 on
    Friday in UTC) counts from Sunday. Calendar days and months never consult ``calendar`` and
    are never provisional; a month ends on the same date of the month reached, or on its last day
    (:func:`~consent_service.rights.periods.add_months`), without Regulation 1182/71's move off a
    weekend or holiday, so the date is never later than the law's.

    A pause ``(paused_at, resumed_at)`` stops the clock: the local days after the pause's day up
    to and including the resumption's day are not counted (paused on Friday and resumed on
    Monday adds Saturday, Sunday and Monday back); a pause that has not ended
    (``resumed_at`` ``None``) is counted as if it ended at ``now``, which must then be given: the
    date is the earliest the request can be due, and the caller computes it again when the
    request resumes. Days paused after the due date change nothing.

    ``extended`` adds the rule's extension (:class:`ExtensionNotAllowed` without one); in the same
    unit it is one period from the start (one month plus two is three months from receipt).
    """
    if extended and not rule.extension_amount:
        raise ExtensionNotAllowed(f"the rule allows no extension: {rule.describe()}")
    zone = ZoneInfo(timezone)
    counter = _Counter(calendar, _pause_intervals(pauses, zone, now))
    day = _aware(start, "start").astimezone(zone).date()
    for amount, unit in merge(rule.extended_periods if extended else rule.periods):
        day = counter.count(day, amount, unit)
    return Due(
        at=_local_moment(day, _LAST_SECOND, zone),
        last_day=day,
        provisional=counter.provisional,
        counted=tuple(counter.counted),
        skipped=tuple(counter.skipped),
        paused=tuple(counter.paused),
    )


def extension_notice_due(
    rule: Rule,
    start: datetime,
    timezone: str,
    calendar: HolidayCalendar,
    pauses: Sequence[Pause] = (),
    now: datetime | None = None,
) -> Due:
    """By when an extension must be notified, with its reason (GDPR Art. 12(3): within one month
    of receipt): ``extension_notice_within`` units of the rule's unit, counted as :func:`compute_due`
    counts. :class:`ExtensionNotAllowed` for a rule without an extension."""
    if not rule.extension_amount:
        raise ExtensionNotAllowed(f"the rule allows no extension: {rule.describe()}")
    window = Rule(rule.extension_notice_within, rule.unit, rule.starts_at, clause=rule.clause)
    return compute_due(window, start, timezone, calendar, pauses, now=now)


def reminder_times(
    due: Due,
    offsets: Sequence[int] = (5, 2, 1),
    *,
    timezone: str,
    calendar: HolidayCalendar,
    hour: int = 9,
) -> list[tuple[int, datetime]]:
    """When to remind the handler: ``(offset, moment)`` for each offset, earliest first, the moment
    being ``hour``:00 local (as UTC) on the day ``offset`` working days before ``due.last_day``.

    A reminder is never later than the one the true calendar would give. Past what the calendar
    knows, a provisional due date (counted in working days taking unknown days for working ones)
    is counted back from the same way, which keeps that promise: the true due date is no earlier,
    and has at least as many working days before it. Any other due date is fixed, so unknown days
    are taken for days off and the reminder moves earlier, onto known days if need be. A reminder
    may fall before the request was received; the caller sends those still ahead.
    """
    if not 0 <= hour <= 23:
        raise ValueError(f"a reminder hour is 0 to 23, not {hour}")
    if any(offset < 0 for offset in offsets):
        raise ValueError(f"a reminder comes before the due date: offsets {list(offsets)}")
    zone = ZoneInfo(timezone)
    known = calendar.known_through()
    reminders = []
    for offset in sorted(set(offsets), reverse=True):
        day, left = due.last_day, offset
        while left:
            day -= timedelta(days=1)
            if due.provisional if day > known else calendar.is_working_day(day):
                left -= 1
        reminders.append((offset, _local_moment(day, time(hour), zone)))
    return reminders


class _Counter:
    """Counts periods one after the other, keeping every day it counted, skipped or added back."""

    def __init__(self, calendar: HolidayCalendar, pauses: list[tuple[date, date]]) -> None:
        """Count after ``calendar``, not counting the days within ``pauses`` (after, through]."""
        self.calendar = calendar
        self.pauses = pauses
        self.known: date | None = None
        self.provisional = False
        self.counted: list[date] = []
        self.skipped: list[date] = []
        self.paused: list[date] = []

    def count(self, start: date, amount: int, unit: str) -> date:
        """The day ``amount`` ``unit`` after ``start``, ``start`` not counted."""
        if unit == MONTHS:
            amount, unit = days_in_months(start, amount), CALENDAR_DAYS
        if unit == WORKING_DAYS and self.known is None:
            self.known = self.calendar.known_through()
        day = start
        while amount:
            day += timedelta(days=1)
            if any(after < day <= through for after, through in self.pauses):
                self.paused.append(day)
            elif unit == CALENDAR_DAYS or self._is_working_day(day):
                self.counted.append(day)
                amount -= 1
            else:
                self.skipped.append(day)
        return day

    def _is_working_day(self, day: date) -> bool:
        """The calendar's answer; a day it does not know yet counts as worked (provisionally)."""
        assert self.known is not None
        if day > self.known:
            self.provisional = True
            return True
        return self.calendar.is_working_day(day)


def _pause_intervals(
    pauses: Sequence[Pause], zone: ZoneInfo, now: datetime | None
) -> list[tuple[date, date]]:
    """Each pause as local days (after, through]; an open pause ends at ``now``."""
    intervals = []
    for paused_at, resumed_at in pauses:
        _aware(paused_at, "paused_at")
        if resumed_at is None:
            if now is None:
                raise ValueError("a pause that has not ended needs now, the moment it is counted to")
            resumed_at = max(_aware(now, "now"), paused_at)
        if _aware(resumed_at, "resumed_at") < paused_at:
            raise ValueError(f"a pause resumed before it began: {paused_at} to {resumed_at}")
        intervals.append((paused_at.astimezone(zone).date(), resumed_at.astimezone(zone).date()))
    return intervals


def _aware(moment: datetime, name: str) -> datetime:
    """``moment`` if it is timezone-aware; a naive one is refused (it names no instant)."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {moment!r}")
    return moment


def _local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``at`` on ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, at, zone).astimezone(UTC)
