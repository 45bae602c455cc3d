"""The person's privacy dashboard.

- ``models``: DashboardLink (single-use sign-in links handed over by the company);
- ``service``: create and redeem links;
- ``schemas``, ``api``: ``POST /api/v1/subjects/<id>/dashboard-links``;
- ``views``: ``/dashboard/enter/<token>``, ``/dashboard`` and ``/dashboard/sign-out``; the
  session's idle timeout.
- ``requests``, ``request_views``: My requests, ``/dashboard/requests`` (the person's rights
  requests: list, new, one request, withdraw).
"""
