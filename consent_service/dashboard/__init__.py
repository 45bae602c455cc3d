"""The person's privacy dashboard.

- ``models``: DashboardLink (single-use sign-in links handed over by the company) and
  SignInCode (codes mailed to the person, kept as keyed hashes);
- ``service``: create and redeem links; ``signin``: request and verify mailed codes;
  ``messages``: the code's mail (zh-CN, en);
- ``schemas``, ``api``: ``POST /api/v1/subjects/<id>/dashboard-links``;
- ``views``: ``/dashboard/enter/<token>``, ``/dashboard`` and ``/dashboard/sign-out``; the
  session's idle timeout.
- ``requests``, ``request_views``: My requests, ``/dashboard/requests`` (the person's rights
  requests: list, new, one request, withdraw).
  session's idle timeout; ``signin_views``: ``/dashboard/sign-in`` and ``/dashboard/sign-in/code``.
"""
