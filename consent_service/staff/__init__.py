"""Staff of an organization and what each may do in the console (PIPL 51, 52; GB/T 35273 11.7).

- ``roles``: the roles (admin, officer, auditor) and the permissions each holds, as data.
- ``models``: :class:`StaffMember`, the accounts (secrets kept hashed or encrypted).
- ``credentials``: argon2id password hashing; TOTP and recovery codes.
- ``accounts``: invitation, enrolment, sign-in with lockout, second factor, password reset,
  each recorded in the organization's audit trail.
- ``single_use``: a TOTP step and a recovery code taken once, even by two requests at once.
- ``messages``: the mails of staff accounts; ``cli``: ``flask staff``.
"""
