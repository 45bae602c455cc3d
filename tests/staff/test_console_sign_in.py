"""The console's sign-in pages: enrolment, password and second factor, one answer for every
failure, admins without TOTP kept out, CSRF, the separation of organizations, sign-out."""

from __future__ import annotations

import re

import pyotp
import pytest
from flask import g

from consent_service.extensions import db
from consent_service.staff import accounts
from tests.factories import make_org

PASSWORD = "correct horse battery"


@pytest.fixture
def org(db, clock):
    return make_org(clock.now(), "shop")


def token(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def post_form(client, form_url, post_url, **data):
    g.pop("csrf_token", None)
    page = client.get(form_url)
    return client.post(post_url, data={"csrf_token": token(page), **data})


def invite(org, clock, role="officer", email="officer@shop.example"):
    member, url = accounts.invite(org, email, "Li Lei", role, clock.now())
    db.session.commit()  # as the command would leave it: a page's rollback keeps it
    return member, url.split("consent.test", 1)[1]


def enrol(client, path, password=PASSWORD):
    return post_form(client, path + "?lang=en", path + "?lang=en", password=password)


def sign_in(client, email="officer@shop.example", password=PASSWORD, slug="shop"):
    url = f"/console/{slug}/sign-in?lang=en"
    return post_form(client, url, url, email=email, password=password)


def test_an_officer_enrols_signs_in_sees_the_home_page_and_signs_out(client, org, clock):
    member, path = invite(org, clock)
    answer = enrol(client, path)
    assert answer.status_code == 303 and "/console/shop/sign-in" in answer.location
    answer = sign_in(client)
    assert answer.status_code == 303 and answer.location.endswith("/console/shop/?lang=en")
    home = client.get("/console/shop/?lang=en")
    assert home.status_code == 200
    assert "Li Lei" in home.get_data(as_text=True) and "Compliance officer" in home.get_data(as_text=True)
    assert member.last_sign_in_at == clock.now()
    assert post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en").status_code == 200
    assert client.get("/console/shop/?lang=en").status_code == 302


def test_password_rules_are_said_on_the_page(client, org, clock):
    _, path = invite(org, clock)
    answer = enrol(client, path, "short")
    assert answer.status_code == 400 and "at least 12 characters" in answer.get_data(as_text=True)
    answer = enrol(client, path, "officer@shop.example")
    assert "email address as the password" in answer.get_data(as_text=True)


def test_the_same_answer_for_an_unknown_address_and_a_wrong_password(client, org, clock):
    _, path = invite(org, clock)
    enrol(client, path)
    unknown = sign_in(client, email="nobody@shop.example")
    wrong = sign_in(client, password="not the password")
    assert unknown.status_code == wrong.status_code == 401
    strip = lambda page: re.sub(r'value="[^"]*"', "", page.get_data(as_text=True))  # noqa: E731
    assert strip(unknown) == strip(wrong)


def test_lockout_after_five_and_unlock_after_15_minutes(client, org, clock):
    _, path = invite(org, clock)
    enrol(client, path)
    for _ in range(5):
        assert sign_in(client, password="not the password").status_code == 401
    assert sign_in(client).status_code == 401
    clock.advance(minutes=15, seconds=1)
    assert sign_in(client).status_code == 303


def test_an_admin_sets_up_totp_and_signs_in_with_a_code_then_a_recovery_code(client, org, clock):
    member, path = invite(org, clock, role="admin", email="admin@shop.example")
    answer = enrol(client, path)
    assert answer.status_code == 303 and "/totp-setup" in answer.location
    setup = client.get("/console/shop/sign-in/totp-setup?lang=en")
    secret = re.search(r"secret=([A-Z2-7]+)", setup.get_data(as_text=True)).group(1)
    assert client.get("/console/shop/?lang=en").status_code == 302  # not signed in yet
    answer = client.post(
        "/console/shop/sign-in/totp-setup?lang=en",
        data={"csrf_token": token(setup), "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert answer.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{4}(?:-[a-z2-9]{4}){3})</code>", answer.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/console/shop/?lang=en").status_code == 200
    # The row holds no secret in the clear.
    assert secret not in (member.totp_secret_encrypted or "") and PASSWORD not in member.password_hash
    assert not any(code.replace("-", "") in str(member.recovery_code_hashes) for code in codes)

    post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en")
    clock.advance(seconds=60)
    answer = sign_in(client, email="admin@shop.example")
    assert answer.status_code == 303 and "/second-factor" in answer.location
    assert client.get("/console/shop/?lang=en").status_code == 302
    second = "/console/shop/sign-in/second-factor?lang=en"
    answer = post_form(client, second, second, code=pyotp.TOTP(secret).at(clock.now()))
    assert answer.status_code == 303
    assert client.get("/console/shop/?lang=en").status_code == 200

    post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en")
    sign_in(client, email="admin@shop.example")
    assert post_form(client, second, second, code=codes[0]).status_code == 303
    post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en")
    sign_in(client, email="admin@shop.example")
    assert post_form(client, second, second, code=codes[0]).status_code == 401


def test_an_admin_without_totp_cannot_reach_the_home_page(client, org, clock):
    _, path = invite(org, clock, role="admin", email="admin@shop.example")
    enrol(client, path)
    answer = sign_in(client, email="admin@shop.example")
    assert "/totp-setup" in answer.location
    assert client.get("/console/shop/?lang=en").status_code == 302
    assert client.post("/console/sign-out").status_code == 400  # no CSRF token


def test_posts_without_a_csrf_token_are_refused(client, org, clock):
    _, path = invite(org, clock)
    enrol(client, path)
    answer = client.post(
        "/console/shop/sign-in", data={"email": "officer@shop.example", "password": PASSWORD}
    )
    assert answer.status_code == 400
    assert client.get("/console/shop/?lang=en").status_code == 302


def test_another_organization_in_the_url_is_not_found(client, org, clock):
    make_org(clock.now(), "other")
    _, path = invite(org, clock)
    enrol(client, path)
    sign_in(client)
    assert client.get("/console/other/?lang=en").status_code == 404
    assert client.get("/console/nowhere/?lang=en").status_code == 404
    assert sign_in(client, slug="other").status_code == 401  # the account is of "shop" only


def test_reset_by_mail_through_the_pages(db, client, org, clock):
    from tests.staff.test_accounts import mails

    _, path = invite(org, clock)
    enrol(client, path)
    known = post_form(
        client, "/console/shop/reset?lang=en", "/console/shop/reset?lang=en", email="officer@shop.example"
    )
    unknown = post_form(
        client, "/console/shop/reset?lang=en", "/console/shop/reset?lang=en", email="nobody@shop.example"
    )
    assert known.status_code == unknown.status_code == 200
    strip = lambda page: re.sub(r'value="[^"]*"', "", page.get_data(as_text=True))  # noqa: E731
    assert strip(known) == strip(unknown)
    (mail,) = mails(db, org, "staff.password_reset")
    reset_path = re.search(r"https://consent\.test(/console/reset/\S+)", mail.text).group(1)
    answer = post_form(
        client, reset_path + "?lang=en", reset_path + "?lang=en", password="a brand new password"
    )
    assert answer.status_code == 303
    assert client.get(reset_path).status_code == 410
    assert sign_in(client, password="a brand new password").status_code == 303
