"""The decision table: every reason code of ``decide()`` and every rule, with its clause.

That one scene reaches every reason code is checked in a single test, with the hot paths, in
``tests/consent/test_hotpath.py``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consent_service.consent.decisions import decide
from consent_service.errors import (
    ConsentNotApplicable,
    ConsentTypeInsufficient,
    GuardianRequired,
    RepromptTooSoon,
    SeparateConsentRequired,
)
from consent_service.policies import purposes
from tests.factories import (
    act,
    grant,
    make_contract_purpose,
    make_org,
    make_purpose,
    make_sensitive_purpose,
    make_subject,
    publish_policy,
)


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "ads", consent_validity_days=30)
    make_sensitive_purpose(org, clock.now(), "face")
    make_contract_purpose(org, clock.now(), "orders")
    return org


def check(org, subject, purpose, clock, at=None):
    return decide(org, subject, purpose, at or clock.now(), clock.now())


def test_unknown_purpose(org, clock):
    make_subject(org, clock.now(), "alice")
    d = check(org, "alice", "no-such-purpose", clock)
    assert (d.allowed, d.reason, d.purpose_version) == (False, "unknown_purpose", None)


def test_unknown_subject(org, clock):
    d = check(org, "nobody", "marketing", clock)
    assert (d.allowed, d.reason) == (False, "unknown_subject")


def test_other_legal_basis_is_allowed_and_named(org, clock):
    """PIPL 13(2): a contract purpose needs no consent; the answer names the basis."""
    make_subject(org, clock.now(), "alice")
    d = check(org, "alice", "orders", clock)
    assert (d.allowed, d.reason, d.basis, d.basis_clause) == (True, "legal_basis", "contract", "PIPL 13(2)")


def test_not_given(org, clock):
    make_subject(org, clock.now(), "alice")
    d = check(org, "alice", "marketing", clock)
    assert (d.allowed, d.reason, d.basis) == (False, "not_given", "consent")


def test_granted(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    result = grant(org, subject, clock.now(), "marketing")
    d = check(org, "alice", "marketing", clock)
    assert (d.allowed, d.reason, d.purpose_version) == (True, "consent_granted", 1)
    assert d.consent_event_id == result.events[0].uuid
    assert d.expires_at is None


def test_refused_gives_reprompt_time(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    act(org, subject, clock.now(), "refuse", "marketing")
    d = check(org, "alice", "marketing", clock)
    assert (d.allowed, d.reason) == (False, "refused")
    assert d.reprompt_after == clock.now() + timedelta(hours=48)


def test_withdrawn(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    clock.advance(minutes=5)
    act(org, subject, clock.now(), "withdraw", "marketing")
    d = check(org, "alice", "marketing", clock)
    assert (d.allowed, d.reason) == (False, "withdrawn")


def test_consent_lapses_after_validity(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "ads")
    d = check(org, "alice", "ads", clock)
    assert d.allowed and d.expires_at == clock.now() + timedelta(days=30)
    clock.advance(days=30)
    d = check(org, "alice", "ads", clock)
    assert (d.allowed, d.reason) == (False, "expired")


def test_reconsent_after_material_purpose_change(org, clock):
    """PIPL 14: a change of PI categories is a new version; old consents stop counting."""
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    clock.advance(days=1)
    version = purposes.change_purpose(org, "marketing", {"pi_categories": ["basic", "device"]}, clock.now())
    assert (version.version, version.is_material) == (2, True)
    d = check(org, "alice", "marketing", clock)
    assert (d.allowed, d.reason, d.purpose_version) == (False, "reconsent_required", 2)
    grant(org, subject, clock.now(), "marketing")
    assert check(org, "alice", "marketing", clock).reason == "consent_granted"


def test_name_change_is_not_material(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    version = purposes.change_purpose(org, "marketing", {"name_en": "Offers by SMS"}, clock.now())
    assert (version.version, version.is_material) == (2, False)
    assert check(org, "alice", "marketing", clock).allowed


def test_reconsent_after_material_policy(org, clock):
    """PIPL 17: publishing a material policy change marks earlier consents for re-consent."""
    publish_policy(org, clock.now(), "v1")
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    clock.advance(days=1)
    result = publish_policy(org, clock.now(), "v2", is_material_change=True)
    assert result.reconsent_required == 1
    assert check(org, "alice", "marketing", clock).reason == "reconsent_required"
    grant(org, subject, clock.now(), "marketing", policy_version="v2")
    assert check(org, "alice", "marketing", clock).reason == "consent_granted"


def test_invalidated_needs_reconsent(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    act(
        org,
        subject,
        clock.now(),
        "invalidate",
        "marketing",
        actor={"kind": "officer", "name": "Officer Li", "reason": "notice shown was wrong"},
    )
    assert check(org, "alice", "marketing", clock).reason == "reconsent_required"


def test_minor_needs_guardian(org, clock):
    """PIPL 31, GB/T 5.4 d): under 14, consent comes from a guardian."""
    make_subject(org, clock.now(), "kid", birth_date=date(2016, 1, 1))
    d = check(org, "kid", "marketing", clock)
    assert (d.allowed, d.reason) == (False, "guardian_required")


def test_minor_grant_by_self_is_refused_and_guardian_counts(org, clock):
    kid = make_subject(org, clock.now(), "kid", is_under_14=True)
    with pytest.raises(GuardianRequired):
        grant(org, kid, clock.now(), "marketing")
    grant(
        org,
        kid,
        clock.now(),
        "marketing",
        actor={"kind": "guardian", "name": "Mum", "relationship": "mother"},
    )
    assert check(org, "kid", "marketing", clock).reason == "consent_granted"


def test_subject_found_to_be_minor_after_own_grant(org, clock):
    subject = make_subject(org, clock.now(), "teen")
    grant(org, subject, clock.now(), "marketing")
    make_subject(org, clock.now(), "teen", is_under_14=True)
    assert check(org, "teen", "marketing", clock).reason == "guardian_required"


def test_child_turning_14_no_longer_needs_guardian(org, clock):
    """Age is computed at the moment asked, in the organization's time zone."""
    make_subject(org, clock.now(), "kid", birth_date=date(2012, 11, 3))
    assert check(org, "kid", "marketing", clock).reason == "guardian_required"
    clock.advance(days=1)  # 2026-11-03 in Shanghai: 14 today
    subject = make_subject(org, clock.now(), "kid")
    grant(org, subject, clock.now(), "marketing")
    assert check(org, "kid", "marketing", clock).allowed


def test_officer_recording_guardian_paper_consent(org, clock):
    kid = make_subject(org, clock.now(), "kid", is_under_14=True)
    grant(
        org,
        kid,
        clock.now(),
        "marketing",
        method="paper",
        actor={"kind": "officer", "name": "Zhao", "relationship": "father", "reason": "signed form 17"},
    )
    assert check(org, "kid", "marketing", clock).allowed


def test_separate_consent_cannot_be_bundled(org, clock):
    """PIPL 29: sensitive PI needs separate consent, one purpose per act."""
    subject = make_subject(org, clock.now(), "alice")
    with pytest.raises(SeparateConsentRequired) as error:
        grant(org, subject, clock.now(), "marketing", "face", consent_type="separate")
    assert error.value.details["purposes"] == ["face"]
    assert subject.chain_seq == 0
    grant(org, subject, clock.now(), "face", consent_type="separate")
    assert check(org, "alice", "face", clock).allowed


def test_bundle_of_ordinary_purposes_is_one_act(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    result = grant(org, subject, clock.now(), "marketing", "ads")
    assert len({e.bundle_id for e in result.events}) == 1
    assert [e.bundle_size for e in result.events] == [2, 2]


@pytest.mark.parametrize("kind", ["recipients", "cross_border_recipients", "is_publicly_disclosed"])
def test_third_party_cross_border_and_disclosure_need_separate_consent(org, clock, kind):
    """PIPL 23, 25, 39."""
    value = {
        "recipients": [{"name": "Courier", "contact": "c@x.example", "purpose": "delivery"}],
        "cross_border_recipients": [
            {
                "name": "SG Support",
                "country": "Singapore",
                "contact": "s@x.example",
                "rights_channel": "email",
            }
        ],
        "is_publicly_disclosed": True,
    }[kind]
    make_purpose(org, clock.now(), "shared", consent_requirement="separate", **{kind: value})
    subject = make_subject(org, clock.now(), "alice")
    with pytest.raises(SeparateConsentRequired):
        grant(org, subject, clock.now(), "shared", "marketing", consent_type="separate")
    with pytest.raises(ConsentTypeInsufficient):
        grant(org, subject, clock.now(), "shared", consent_type="explicit")
    grant(org, subject, clock.now(), "shared", consent_type="separate")
    assert check(org, "alice", "shared", clock).allowed


def test_sensitive_needs_at_least_explicit(org, clock):
    """GB/T 5.4 b): implied consent never covers sensitive PI."""
    subject = make_subject(org, clock.now(), "alice")
    for weak in ("implied", "explicit"):
        with pytest.raises(ConsentTypeInsufficient):
            grant(org, subject, clock.now(), "face", consent_type=weak)
    grant(org, subject, clock.now(), "face", consent_type="written")
    assert check(org, "alice", "face", clock).allowed


def test_implied_consent_falls_short_of_explicit_requirement(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    with pytest.raises(ConsentTypeInsufficient):
        grant(org, subject, clock.now(), "marketing", consent_type="implied")


def test_reprompt_within_48_hours_is_refused(org, clock):
    """GB/T 35273 Annex C.4 b)."""
    subject = make_subject(org, clock.now(), "alice")
    act(org, subject, clock.now(), "refuse", "marketing")
    clock.advance(hours=47, minutes=59)
    with pytest.raises(RepromptTooSoon) as error:
        grant(org, subject, clock.now(), "marketing")
    assert error.value.details["purpose"] == "marketing"
    clock.advance(minutes=1)
    grant(org, subject, clock.now(), "marketing")
    assert check(org, "alice", "marketing", clock).allowed


def test_person_may_start_it_again_within_48_hours(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    act(org, subject, clock.now(), "refuse", "marketing")
    clock.advance(hours=1)
    grant(org, subject, clock.now(), "marketing", is_subject_initiated=True)
    assert check(org, "alice", "marketing", clock).allowed


def test_withdraw_is_always_accepted_and_idempotent(org, clock):
    """PIPL 15: withdrawing twice, or what was never granted, records nothing more."""
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    first = act(org, subject, clock.now(), "withdraw", "marketing")
    second = act(org, subject, clock.now(), "withdraw", "marketing")
    never = act(org, subject, clock.now(), "withdraw", "ads")
    assert (len(first.events), len(second.events), len(never.events)) == (1, 0, 0)
    assert subject.chain_seq == 2


def test_withdraw_never_affects_contract_purposes(org, clock):
    """PIPL 16: refusing or withdrawing does not stop a basic function on contract."""
    subject = make_subject(org, clock.now(), "alice")
    act(org, subject, clock.now(), "withdraw", "orders")
    assert check(org, "alice", "orders", clock).reason == "legal_basis"
    with pytest.raises(ConsentNotApplicable):
        grant(org, subject, clock.now(), "orders")


def test_backdated_paper_consent_does_not_override_later_withdrawal(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    clock.advance(days=2)
    act(org, subject, clock.now(), "withdraw", "marketing")
    grant(org, subject, clock.now(), "marketing")
    clock.advance(hours=1)
    act(org, subject, clock.now(), "withdraw", "marketing")
    grant(
        org,
        subject,
        clock.now(),
        "marketing",
        occurred_at=clock.now() - timedelta(days=1),
        method="paper",
        actor={"kind": "officer", "name": "Zhao", "reason": "paper form arrived late"},
    )
    assert check(org, "alice", "marketing", clock).reason == "withdrawn"


def test_late_recorded_renewal_outlives_the_expiry_of_the_grant_before_it(org, clock, db):
    """An expiry ends only the grant it marks, even when a renewal is recorded after it."""
    from consent_service.consent.expiry import expire_lapsed

    subject = make_subject(org, clock.now(), "alice")
    first = clock.now()
    grant(org, subject, clock.now(), "ads")
    clock.advance(days=31)
    assert expire_lapsed(org, clock.now()) == 1
    clock.advance(days=9)
    grant(
        org,
        subject,
        clock.now(),
        "ads",
        occurred_at=first + timedelta(days=20),
        method="paper",
        actor={"kind": "officer", "name": "Zhao", "reason": "renewal form signed on day 20"},
    )
    d = check(org, "alice", "ads", clock)
    assert (d.allowed, d.reason, d.expires_at) == (True, "consent_granted", first + timedelta(days=50))
    clock.advance(days=10)
    assert check(org, "alice", "ads", clock).reason == "expired"


def test_decision_about_the_past(org, clock):
    """The ledger answers for any moment: granted then, withdrawn now."""
    subject = make_subject(org, clock.now(), "alice")
    clock.advance(hours=1)
    granted_at = clock.now()
    grant(org, subject, clock.now(), "marketing")
    clock.advance(days=3)
    act(org, subject, clock.now(), "withdraw", "marketing")
    assert check(org, "alice", "marketing", clock).reason == "withdrawn"
    past = check(org, "alice", "marketing", clock, at=granted_at + timedelta(days=1))
    assert (past.allowed, past.reason) == (True, "consent_granted")
    before = check(org, "alice", "marketing", clock, at=granted_at - timedelta(seconds=1))
    assert before.reason == "not_given"
    before_purpose = check(org, "alice", "marketing", clock, at=granted_at - timedelta(days=1))
    assert before_purpose.reason == "unknown_purpose"


def test_past_decision_sees_the_purpose_version_of_the_time(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    then = clock.now() + timedelta(hours=1)
    clock.advance(days=1)
    purposes.change_purpose(org, "marketing", {"pi_categories": ["device"]}, clock.now())
    assert check(org, "alice", "marketing", clock).reason == "reconsent_required"
    past = check(org, "alice", "marketing", clock, at=then)
    assert (past.reason, past.purpose_version) == ("consent_granted", 1)


def test_other_organization_sees_nothing(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing")
    other = make_org(clock.now())
    make_purpose(other, clock.now(), "marketing")
    assert check(other, "alice", "marketing", clock).reason == "unknown_subject"
