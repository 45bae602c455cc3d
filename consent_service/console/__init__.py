"""The officer's console (issue 12): pages for an organization's staff.

- ``session``: the console session (its own keys; idle timeout) and :func:`current_staff`.
- ``views``: sign-in, second factor, enrolment, password reset, sign-out, the home page.
"""
