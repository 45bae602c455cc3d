"""A TOTP step and a recovery code are accepted once, even by two requests at the same time:
the row is changed from elsewhere between the read and the conditional update (as a second
request would), and the request that finds it changed fails."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import update

from consent_service.staff import accounts, credentials, single_use
from consent_service.staff.models import StaffMember
from tests.factories import make_org
from tests.staff.test_accounts import enrolled


@pytest.fixture
def admin(db, clock):
    """An admin with TOTP in force (its confirming step used), and their secret and codes."""
    org = make_org(clock.now(), "shop")
    member = enrolled(org, clock, role="admin", email="admin@shop.example")
    secret = accounts.start_totp(member).secret
    codes = accounts.confirm_totp(member, pyotp.TOTP(secret).at(clock.now()), clock.now())
    db.session.flush()
    clock.advance(seconds=30)
    return member, secret, codes


def behind_the_sessions_back(db, member, **values) -> None:
    """What another request commits meanwhile: the row changes, the object read stays as it was
    (a statement on the table, not on the mapped object)."""
    table = StaffMember.__table__
    db.session.execute(update(table).where(table.c.id == member.id).values(**values))


def test_a_totp_step_is_taken_once(db, clock, admin):
    member, secret, _ = admin
    step = pyotp.TOTP(secret).timecode(clock.now())
    assert single_use.claim_totp_step(member, step) is True
    assert single_use.claim_totp_step(member, step) is False  # the second of two at once
    assert single_use.claim_totp_step(member, step - 1) is False  # nor an older one
    assert member.totp_last_step == step


def test_the_request_that_loses_the_race_for_a_totp_code_fails(db, clock, admin):
    member, secret, _ = admin
    code = pyotp.TOTP(secret).at(clock.now())
    step = pyotp.TOTP(secret).timecode(clock.now())
    # The other request took this step after this one read the row (which still says the older one).
    behind_the_sessions_back(db, member, totp_last_step=step)
    assert member.totp_last_step == step - 1
    with pytest.raises(accounts.SecondFactorFailed):
        accounts.check_second_factor(member, code, clock.now())


def test_the_request_that_loses_the_race_for_a_recovery_code_fails(db, clock, admin):
    member, _, codes = admin
    spent = credentials.recovery_code_hash(codes[0])
    left = [digest for digest in member.recovery_code_hashes if digest != spent]
    # The other request spent the code after this one read the list.
    behind_the_sessions_back(db, member, recovery_code_hashes=left)
    assert spent in member.recovery_code_hashes  # what this request read
    with pytest.raises(accounts.SecondFactorFailed):
        accounts.check_second_factor(member, codes[0], clock.now())
    db.session.expire_all()
    assert len(member.recovery_code_hashes) == 9


def test_another_recovery_code_still_works_after_a_concurrent_change(db, clock, admin):
    member, _, codes = admin
    left = [d for d in member.recovery_code_hashes if d != credentials.recovery_code_hash(codes[0])]
    behind_the_sessions_back(db, member, recovery_code_hashes=left)
    # The list read is stale, so the compare-and-set misses once, reads again and spends codes[1].
    assert single_use.spend_recovery_code(member, credentials.recovery_code_hash(codes[1])) == 8
    assert single_use.spend_recovery_code(member, credentials.recovery_code_hash(codes[1])) is None
