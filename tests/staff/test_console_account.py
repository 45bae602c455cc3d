"""A member's own account page: an officer turns on two-step sign-in (a wrong code is refused
beside the field), sees the recovery codes once, and from then on signs in with a code too."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from consent_service.audit.models import AuditEntry
from consent_service.extensions import db as _db
from tests.factories import make_org
from tests.staff.console_support import console_post, sign_in_as
from tests.staff.test_console_sign_in import post_form, sign_in


@pytest.fixture
def org(db, clock):
    return make_org(clock.now(), "shop")


def test_an_officer_turns_on_two_step_sign_in(client, org, clock):
    member = sign_in_as(client, org, clock, "officer")
    page = client.get("/console/shop/account?lang=en").get_data(as_text=True)
    assert "Compliance officer" in page and "Turn on two-step sign-in" in page

    setup = console_post(client, "/console/shop/account/totp?lang=en")
    assert setup.status_code == 200
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", setup.get_data(as_text=True)).group(1)
    answer = console_post(client, "/console/shop/account/totp/confirm?lang=en", code="000000")
    assert answer.status_code == 400 and "This code is not right" in answer.get_data(as_text=True)
    _db.session.refresh(member)
    assert member.totp_enabled_at is None

    answer = console_post(
        client, "/console/shop/account/totp/confirm?lang=en", code=pyotp.TOTP(secret).at(clock.now())
    )
    assert answer.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{4}(?:-[a-z2-9]{4}){3})</code>", answer.get_data(as_text=True))
    assert len(codes) == 10
    _db.session.refresh(member)
    assert member.totp_enabled_at == clock.now()
    page = client.get("/console/shop/account?lang=en").get_data(as_text=True)
    assert "Recovery codes left: 10" in page and "Turn on two-step sign-in" not in page
    entry = _db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "console:account.totp_on")
    ).one()
    assert entry.details == {"before": {"totp": False}, "after": {"totp": True}}
    assert secret not in str(entry.details)

    post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en")
    clock.advance(seconds=60)
    answer = sign_in(client)
    assert answer.status_code == 303 and "/second-factor" in answer.location
    second = "/console/shop/sign-in/second-factor?lang=en"
    assert post_form(client, second, second, code=pyotp.TOTP(secret).at(clock.now())).status_code == 303
    assert client.get("/console/shop/?lang=en").status_code == 200


def test_the_account_page_speaks_chinese(client, org, clock):
    sign_in_as(client, org, clock, "auditor")
    page = client.get("/console/shop/account?lang=zh").get_data(as_text=True)
    assert "两步登录" in page or "两步验证" in page
