"""Data-subject rights (个人信息主体的权利), PIPL 44-50 and GB/T 35273 chapter 8.

- ``types``: the request types the law names, with their clauses.
- ``deadline_rules``: how long a handler has for each type, by regime (PIPL, GDPR), as data;
  what an organization may set instead (shorter, never longer).
- ``periods``: calendar days, working days and months; month arithmetic; proving one period
  never longer than another.
- ``deadlines``: ``compute_due`` (when a request is due, and how that was counted) and
  ``reminder_times``: pure functions of the rule, the start, the zone and the calendar.
- ``notice_files``: the file an operator writes from the State Council's holiday notice.
- ``calendar_data``: the loaded notices (models), ``load_notice``, ``current_calendar``.
- ``cli``: ``flask calendar load | show``.

Requests and their workflow build on these definitions.
"""
