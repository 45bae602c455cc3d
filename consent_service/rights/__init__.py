"""Data-subject rights (个人信息主体的权利), PIPL 44-50 and GB/T 35273 chapter 8.

- ``types``: the request types the law names, with their clauses;
- ``deadlines``: deadline rules as data (regime, type) and the due date as a pure function;
- ``calendar_data``: holiday notices an operator loads, and the calendar deadlines use;
- ``models``: RightsRequest, its events (the timeline), pauses, identity codes, notices;
- ``workflow``: the one transition table;
- ``timeline``: every step recorded with its actor; ``schedule``: the clock and its reminders;
- ``service``: receiving requests and verifying the requester;
- ``actions``: pause, resume, extend, assign, complete, refuse, withdraw;
- ``sweeps``: reminders, escalation, unverified requests, provisional dates (for the jobs);
- ``grounds``, ``messages``: refusal grounds (GB/T 8.7), the requester's and officers' mails;
- ``schemas``, ``api``, ``jobs``, ``cli``: the routes, the scheduled sweep, ``flask calendar``.
"""
