"""Signing in to the console as a role, and posting its forms with their CSRF token."""

from __future__ import annotations

import re

import pyotp

from consent_service.staff.models import StaffMember
from tests.staff.test_console_sign_in import enrol, invite, post_form, sign_in, token

__all__ = ["console_post", "sign_in_as", "token"]


def sign_in_as(client, org, clock, role: str = "officer", email: str | None = None) -> StaffMember:
    """Invite, enrol and sign in a member of ``org`` with ``role`` (an admin sets up TOTP)."""
    email = email or f"{role}@{org.slug}.example"
    member, link = invite(org, clock, role=role, email=email)
    answer = enrol(client, link)
    if "/totp-setup" in (answer.location or ""):
        setup = client.get(f"/console/{org.slug}/sign-in/totp-setup?lang=en")
        secret = re.search(r"secret=([A-Z2-7]+)", setup.get_data(as_text=True)).group(1)
        answer = client.post(
            f"/console/{org.slug}/sign-in/totp-setup?lang=en",
            data={"csrf_token": token(setup), "code": pyotp.TOTP(secret).at(clock.now())},
        )
        assert answer.status_code == 200, (answer.status_code, answer.get_data(as_text=True)[:300])
    else:
        assert sign_in(client, email=email, slug=org.slug).status_code == 303
    return member


def console_post(client, path: str, slug: str = "shop", **data):
    """Post ``data`` to ``path`` with the session's CSRF token (read from the sign-in page)."""
    return post_form(client, f"/console/{slug}/sign-in?lang=en", path, **data)
