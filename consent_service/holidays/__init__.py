"""The PRC working-day calendar (工作日), for deadlines counted in working days.

- ``calendar``: the :class:`HolidayCalendar` interface; :class:`ChineseCalendar` (the
  ``chinese-calendar`` package under the operator's own days), :class:`WeekendCalendar`
  (Monday to Friday: tests and deployments outside China); :func:`add_working_days`;
  :func:`from_config` (``HOLIDAY_CALENDAR``).
"""

from consent_service.holidays.calendar import (
    CalendarUnknown,
    ChineseCalendar,
    HolidayCalendar,
    WeekendCalendar,
    add_working_days,
    from_config,
)

__all__ = [
    "CalendarUnknown",
    "ChineseCalendar",
    "HolidayCalendar",
    "WeekendCalendar",
    "add_working_days",
    "from_config",
]
