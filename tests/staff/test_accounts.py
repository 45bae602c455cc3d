"""Staff accounts: invitation and enrolment, password rules, sign-in with one answer for
every failure, the lockout, TOTP with recovery codes, password reset by mail, and the CLI."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from consent_service.errors import Conflict, InvalidInput
from consent_service.mail.envelope import Envelope
from consent_service.mail.models import MailMessage
from consent_service.staff import accounts, credentials
from consent_service.staff.models import StaffMember
from tests.cli_support import assert_clean_failure, assert_ok, run
from tests.factories import make_org

PASSWORD = "correct horse battery"


@pytest.fixture
def org(db, clock):
    return make_org(clock.now(), "shop")


def mails(db, org, kind: str) -> list[Envelope]:
    query = select(MailMessage).where(MailMessage.org_id == org.id, MailMessage.kind == kind)
    return [Envelope.unseal(m.content_encrypted) for m in db.session.scalars(query.order_by(MailMessage.id))]


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def enrolled(org, clock, role="officer", email="Officer@Shop.Example"):
    member, url = accounts.invite(org, email, "Li Lei", role, clock.now())
    accounts.enrol(token_of(url), PASSWORD, clock.now())
    return member


def test_invite_stores_only_the_hash_of_a_48_hour_link(org, clock):
    member, url = accounts.invite(org, "Officer@Shop.Example", "Li Lei", "officer", clock.now())
    assert url.startswith("https://consent.test/console/enrol/")
    token = token_of(url)
    assert member.email == "officer@shop.example"
    assert member.token_hash != token and token not in repr(vars(member))
    assert member.token_expires_at == clock.now() + timedelta(hours=48)
    with pytest.raises(Conflict):
        accounts.invite(org, "officer@shop.example", "", "auditor", clock.now())
    with pytest.raises(InvalidInput) as caught:
        accounts.invite(org, "not an address", "", "boss", clock.now())
    assert set(caught.value.details) == {"email", "role"}


def test_enrolment_sets_an_argon2id_hash_and_the_link_works_once(org, clock):
    member, url = accounts.invite(org, "officer@shop.example", "Li Lei", "officer", clock.now())
    accounts.enrol(token_of(url), PASSWORD, clock.now())
    assert member.password_hash.startswith("$argon2id$") and PASSWORD not in member.password_hash
    with pytest.raises(accounts.LinkNotValid):
        accounts.enrol(token_of(url), PASSWORD, clock.now())


def test_an_enrolment_link_expires_after_48_hours(org, clock):
    _, url = accounts.invite(org, "officer@shop.example", "Li Lei", "officer", clock.now())
    with pytest.raises(accounts.LinkNotValid):
        accounts.enrol(token_of(url), PASSWORD, clock.now() + timedelta(hours=48, seconds=1))


@pytest.mark.parametrize("password", ["short pass", "officer@shop.example", "OFFICER@shop.example  "])
def test_password_rules_name_the_field(org, clock, password):
    _, url = accounts.invite(org, "officer@shop.example", "Li Lei", "officer", clock.now())
    with pytest.raises(InvalidInput) as caught:
        accounts.enrol(token_of(url), password, clock.now())
    assert list(caught.value.details) == ["password"]


def test_sign_in_and_the_same_failure_for_unknown_address_and_wrong_password(org, clock):
    member = enrolled(org, clock)
    assert accounts.authenticate(org, "OFFICER@shop.example", PASSWORD, clock.now()) is member
    with pytest.raises(accounts.SignInFailed) as unknown:
        accounts.authenticate(org, "nobody@shop.example", PASSWORD, clock.now())
    with pytest.raises(accounts.SignInFailed) as wrong:
        accounts.authenticate(org, "officer@shop.example", "wrong password!", clock.now())
    assert unknown.value.to_dict() == wrong.value.to_dict()
    assert member.failed_attempts == 1


def test_five_failures_lock_for_15_minutes_and_only_the_holder_is_told(db, org, clock):
    member = enrolled(org, clock)
    for _ in range(5):
        with pytest.raises(accounts.SignInFailed):
            accounts.authenticate(org, "officer@shop.example", "wrong password!", clock.now())
    assert member.locked_until == clock.now() + timedelta(minutes=15)
    with pytest.raises(accounts.SignInFailed):  # the right password, the same answer
        accounts.authenticate(org, "officer@shop.example", PASSWORD, clock.now())
    assert len(mails(db, org, "staff.account_locked")) == 1
    clock.advance(minutes=14)
    with pytest.raises(accounts.SignInFailed):
        accounts.authenticate(org, "officer@shop.example", PASSWORD, clock.now())
    clock.advance(minutes=1, seconds=1)
    assert accounts.authenticate(org, "officer@shop.example", PASSWORD, clock.now()) is member


def test_totp_enrolment_second_factor_and_single_use_recovery_codes(db, org, clock):
    member = enrolled(org, clock, role="admin", email="admin@shop.example")
    assert accounts.needs_second_factor(member)
    setup = accounts.start_totp(member)
    assert setup.otpauth_uri.startswith("otpauth://totp/") and setup.secret in setup.otpauth_uri
    assert setup.secret not in member.totp_secret_encrypted
    with pytest.raises(InvalidInput):
        accounts.confirm_totp(
            member,
            "000000" if pyotp.TOTP(setup.secret).at(clock.now()) != "000000" else "111111",
            clock.now(),
        )
    codes = accounts.confirm_totp(member, pyotp.TOTP(setup.secret).at(clock.now()), clock.now())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert not any(c in repr(member.recovery_code_hashes) for c in codes)
    # The code just used for the confirmation does not work again.
    with pytest.raises(accounts.SecondFactorFailed):
        accounts.check_second_factor(member, pyotp.TOTP(setup.secret).at(clock.now()), clock.now())
    clock.advance(seconds=30)
    assert (
        accounts.check_second_factor(member, pyotp.TOTP(setup.secret).at(clock.now()), clock.now()) == "totp"
    )
    assert accounts.check_second_factor(member, codes[0].upper(), clock.now()) == "recovery"
    with pytest.raises(accounts.SecondFactorFailed):
        accounts.check_second_factor(member, codes[0], clock.now())
    assert len(member.recovery_code_hashes) == 9


def test_reset_by_mail_with_the_same_answer_for_unknown_addresses(db, org, clock):
    member = enrolled(org, clock)
    accounts.request_reset(org, "nobody@shop.example", clock.now(), "en")
    assert mails(db, org, "staff.password_reset") == []
    accounts.request_reset(org, "officer@shop.example", clock.now(), "en")
    (mail,) = mails(db, org, "staff.password_reset")
    url = re.search(r"https://\S+/console/reset/(\S+)", mail.text)
    token = url.group(1)
    assert hash_of(token) == member.token_hash and "30 minutes" in mail.text
    accounts.reset_password(token, "a brand new password", clock.now())
    assert accounts.authenticate(org, "officer@shop.example", "a brand new password", clock.now()) is member
    with pytest.raises(accounts.LinkNotValid):
        accounts.reset_password(token, "another new password", clock.now())


def test_a_reset_link_expires_after_30_minutes(db, org, clock):
    enrolled(org, clock)
    accounts.request_reset(org, "officer@shop.example", clock.now(), "en")
    token = re.search(r"/console/reset/(\S+)", mails(db, org, "staff.password_reset")[0].text).group(1)
    with pytest.raises(accounts.LinkNotValid):
        accounts.reset_password(token, "a brand new password", clock.now() + timedelta(minutes=31))


def hash_of(token: str) -> str:
    from consent_service.tokens import hash_secret

    return hash_secret(token)


def test_recovery_code_hash_ignores_case_and_dashes():
    assert credentials.recovery_code_hash("ABCD-efgh") == credentials.recovery_code_hash("abcdefgh")


def test_flask_staff_create_prints_a_one_time_link(db, cli, org):
    db.session.commit()
    result = run(cli, "staff", "create", "--org", "shop", "--email", "New@Shop.Example", "--role", "auditor")
    assert_ok(result)
    url = re.search(r"https://consent\.test/console/enrol/(\S+)", result.output)
    member = db.session.scalars(select(StaffMember).where(StaffMember.email == "new@shop.example")).one()
    assert member.role == "auditor" and member.token_hash == hash_of(url.group(1))
    assert_clean_failure(
        run(cli, "staff", "create", "--org", "nowhere", "--email", "a@b.example", "--role", "admin"), ""
    )
