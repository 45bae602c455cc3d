"""Data-subject rights (个人信息主体的权利), PIPL 44-50 and GB/T 35273 chapter 8.

- ``types``: the request types the law names, with their clauses;
- ``deadline_rules``: how long a handler has for each type, by regime (PIPL, GDPR), as data;
  what an organization may set instead (shorter, never longer);
- ``periods``: calendar days, working days and months; month arithmetic;
- ``deadlines``: ``compute_due`` (when a request is due, and how that was counted) and
  ``reminder_times``: pure functions of the rule, the start, the zone and the calendar;
- ``notice_files``, ``calendar_data``: the State Council's notice an operator loads, and the
  calendar deadlines use (``current_calendar``);
- ``models``: RightsRequest, its events (the timeline), pauses, identity codes, notices;
- ``workflow``: the one transition table;
- ``timeline``: every step recorded with its actor; ``schedule``: the clock and its reminders;
- ``service``: receiving requests and verifying the requester;
- ``actions``: pause, resume, extend, assign, complete, refuse, withdraw;
- ``sweeps``: reminders, escalation, unverified requests, provisional dates (for the jobs);
- ``grounds``, ``messages``: refusal grounds (GB/T 8.7), the requester's and officers' mails;
- ``schemas``, ``api``, ``jobs``, ``cli``: the routes, the scheduled sweep, ``flask calendar``.
"""
