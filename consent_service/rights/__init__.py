"""Data-subject rights (个人信息主体的权利), PIPL 44-50 and GB/T 35273 chapter 8.

- ``types``: the request types the law names, with their clauses;
- ``deadline_rules``: how long a handler has for each type, by regime (PIPL, GDPR), as data;
  what an organization may set instead (shorter, never longer);
- ``periods``: calendar days, working days and months; month arithmetic;
- ``deadlines``: ``compute_due`` (when a request is due, and how that was counted) and
  ``reminder_times``: pure functions of the rule, the start, the zone and the calendar;
- ``notice_files``, ``calendar_data``: the State Council's notice an operator loads, and the
  calendar deadlines use (``current_calendar``);
- ``models``: RightsRequest, its events (the timeline), pauses, identity codes, notices, data
  systems and their tasks, retention endings, packages;
- ``workflow``: the one transition table;
- ``timeline``: every step recorded with its actor; ``schedule``: the clock and its reminders;
- ``service``: receiving requests and verifying the requester;
- ``actions``: pause, resume, extend, assign, complete, refuse, withdraw;
- ``queries``, ``replies``: reading requests; the requester's address, details, acknowledgement;
- ``sweeps``: reminders, escalation, unverified requests, provisional dates (for the jobs);
- ``systems``: the registry of data systems; ``tasks``: reading their tasks;
- ``fulfilment``: carrying a request out (tasks, answers, withdrawal through the ledger,
  correction and erasure here, completion); ``corrections``: what a correction may change;
- ``holdings``: what this service holds about a person, as plain data;
- ``package``, ``packages``, ``views``: the access package, its link, its download route;
- ``retention``: deletion tasks where the reason to keep information ended (PIPL 47);
- ``explain``: a deadline explained day by day, and a request's urgency (for the console);
- ``grounds``, ``messages``: refusal grounds (GB/T 8.7), the requester's and officers' mails;
- ``schemas``, ``api``, ``systems_api``, ``jobs``, ``cli``: the routes, the scheduled sweeps,
  ``flask calendar``.
"""
