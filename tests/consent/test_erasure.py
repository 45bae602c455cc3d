"""Erasure of a person's information (PIPL 47, 73; GB/T 35273 8.3, 8.5).

A person with grants, a withdrawal, a guardian's consent and an officer's paper record, with
evidence, is erased: their rows hold no personal data any more, what was granted is withdrawn
through the ledger (and the company told), the receipts' tokens are gone but their digests
kept, the chains and the checkpoints made before still verify, and a second erasure changes
nothing. The audit's side (what tampering with an erased person's records shows) is in
``tests/audit/test_erasure_audit.py``.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.audit.verify import verify_organization
from consent_service.consent import service as consent
from consent_service.consent import subjects
from consent_service.consent.decisions import decide
from consent_service.consent.erasure import SubjectAlreadyErased, erase_subject, find_erased
from consent_service.consent.models import ConsentEvent, ConsentState, SubjectErasure
from consent_service.consent.redaction import REDACTED, pseudonym
from consent_service.dashboard.service import create_link
from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.receipts.models import ConsentReceipt
from consent_service.webhooks import service as webhooks
from tests.api_support import assert_problem
from tests.cli_support import assert_ok, run
from tests.consent.erasure_cases import (
    EXTERNAL_ID,
    IP,
    PERSONAL,
    USER_AGENT,
    person_with_history,
    purposes,
    rows_of,
    values_found,
)
from tests.factories import grant, make_org, make_subject


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now(), "erase-shop")
    purposes(org, clock.now())
    return org


@pytest.fixture
def alice(org, clock):
    return person_with_history(org, clock)


@pytest.fixture
def bob(org, clock):
    subject = make_subject(org, clock.now(), "bob-2", email="bob@example.cn")
    grant(org, subject, clock.now(), "analytics", evidence={"ip": "198.51.100.9", "user_agent": "BobAgent"})
    return subject


def _erase(org, subject, clock, **options):
    options.setdefault("reason", "deletion request")
    options.setdefault("reference", "rr_0001")
    return erase_subject(org, subject, clock.now(), **options)


def _events(db, subject) -> list[ConsentEvent]:
    return list(
        db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.subject_id == subject.id).order_by(ConsentEvent.seq)
        )
    )


def test_the_erased_person_s_rows_hold_no_personal_data(db, org, alice, clock):
    assert {value for _, _, value in values_found(db)} == set(PERSONAL)
    erasure = _erase(org, alice, clock)
    db.session.expire_all()
    assert values_found(db) == []
    assert alice.external_id == erasure.pseudonym
    assert (alice.email, alice.phone, alice.birth_date) == (None, None, None)
    assert (alice.guardian_name, alice.guardian_contact, alice.guardian_relationship) == (None, None, None)
    assert alice.erased_at == clock.now()


def test_what_the_erasure_did_and_kept(db, org, alice, clock):
    erasure = _erase(org, alice, clock)
    assert (erasure.consents_withdrawn, erasure.events_redacted, erasure.receipts_erased) == (3, 5, 4)
    assert [k.key for k in erasure.kept] == ["consent_events", "receipts", "erasure_record"]
    assert all(k.zh and k.en for k in erasure.kept)
    assert "第四十七条" in erasure.kept[0].zh and "Article 47" in erasure.kept[0].en
    record = db.session.scalars(select(SubjectErasure).where(SubjectErasure.subject_id == alice.id)).one()
    assert (record.reason, record.reference, record.erased_at) == ("deletion request", "rr_0001", clock.now())
    assert [item[0] for item in record.events] == [1, 2, 3, 4, 5]
    assert len(record.receipts) == 4
    assert record.jws.count(".") == 2


def test_redaction_keeps_the_hashes_and_what_proves_the_acts(db, org, alice, clock):
    before = [(e.seq, e.hash, e.prev_hash, e.action, e.actor_kind, e.occurred_at) for e in _events(db, alice)]
    _erase(org, alice, clock)
    db.session.expire_all()
    events = _events(db, alice)
    assert [(e.seq, e.hash, e.prev_hash, e.action, e.actor_kind, e.occurred_at) for e in events[:5]] == before
    first, _, withdrawal, guardian, officer = events[:5]
    assert first.evidence == {"ip": REDACTED, "user_agent": REDACTED, "locale": "zh-CN"}
    assert withdrawal.evidence["note"] == REDACTED
    actor = (guardian.actor_name, guardian.actor_relationship, guardian.actor_reason)
    assert actor == (REDACTED, REDACTED, None)
    assert officer.actor_reason == REDACTED and officer.evidence == {"document_ref": REDACTED}
    assert all(e.idempotency_fingerprint is None for e in events)


def test_what_was_granted_is_withdrawn_through_the_ledger(db, org, alice, clock):
    webhooks.create_endpoint(org, "https://hooks.example/in", ["consent.withdrawn"], clock.now())
    _erase(org, alice, clock)
    db.session.expire_all()
    withdrawals = _events(db, alice)[5:]
    assert [e.action for e in withdrawals] == ["withdraw"] * 3
    assert {(e.actor_kind, e.method) for e in withdrawals} == {("system", "system")}
    assert all("rr_0001" in e.actor_reason and "PIPL 47" in e.actor_reason for e in withdrawals)
    assert len({e.bundle_id for e in withdrawals}) == 1
    states = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == alice.id)).all()
    assert {s.status for s in states} == {"withdrawn"}
    assert not decide(org, alice.external_id, "analytics", clock.now(), clock.now()).allowed
    # The company is told by its own id, as of any withdrawal (PIPL 15).
    (endpoint,) = webhooks.list_endpoints(org)
    deliveries = webhooks.list_deliveries(org, endpoint.public_id)
    assert len(deliveries) == 3
    assert {d.payload["data"]["subject"] for d in deliveries} == {EXTERNAL_ID}


def test_receipts_keep_their_id_key_and_the_digest_of_the_token(db, org, alice, clock):
    receipts = db.session.scalars(
        select(ConsentReceipt).join(ConsentEvent).where(ConsentEvent.subject_id == alice.id)
    ).all()
    tokens = {r.receipt_id: (r.kid, r.jws) for r in receipts}
    _erase(org, alice, clock)
    db.session.expire_all()
    for receipt in receipts:
        kid, token = tokens[receipt.receipt_id]
        assert (receipt.jws, receipt.kid) == (None, kid)
        assert receipt.jws_sha256 == hashlib.sha256(token.encode()).hexdigest()


def test_the_chains_still_verify_before_and_after_a_new_checkpoint(db, cli, org, alice, bob, clock):
    assert create_checkpoint(org, clock.now()) is not None
    _erase(org, alice, clock)
    report = verify_organization(org)
    assert report.ok, report.problems
    assert (report.subjects, report.events) == (2, 9)
    result = run(cli, "audit", "verify", "--org", org.slug)
    assert_ok(result)
    assert f"{org.slug}: OK" in result.output
    clock.advance(minutes=5)
    assert create_checkpoint(org, clock.now()) is not None
    assert verify_organization(org).ok
    assert_ok(run(cli, "audit", "verify", "--org", org.slug))


def test_a_second_erasure_is_refused_and_changes_nothing(db, org, alice, clock):
    _erase(org, alice, clock)
    before = rows_of(db, alice.id)
    clock.advance(hours=1)
    with pytest.raises(SubjectAlreadyErased) as refused:
        _erase(org, alice, clock, reference="rr_0002")
    assert refused.value.status == 409
    assert "erased already" in refused.value.message
    assert rows_of(db, alice.id) == before


def test_another_person_is_left_untouched(db, org, alice, bob, clock):
    before = rows_of(db, bob.id)
    _erase(org, alice, clock)
    assert rows_of(db, bob.id) == before


def test_the_pseudonym_is_keyed_deterministic_and_per_organization(db, org, alice, clock):
    other = make_org(clock.now(), "erase-other")
    assert pseudonym(org.id, EXTERNAL_ID) == pseudonym(org.id, EXTERNAL_ID)
    assert pseudonym(org.id, EXTERNAL_ID) != pseudonym(other.id, EXTERNAL_ID)
    assert pseudonym(org.id, EXTERNAL_ID).startswith("psn_") and len(pseudonym(org.id, EXTERNAL_ID)) == 36
    erasure = _erase(org, alice, clock)
    assert erasure.pseudonym == pseudonym(org.id, EXTERNAL_ID)
    # The company, holding its own id, can show which record was theirs.
    assert find_erased(org, EXTERNAL_ID) == [alice]
    assert find_erased(other, EXTERNAL_ID) == []


def test_a_person_who_came_back_under_the_same_id_can_be_erased_again(db, org, alice, clock):
    first = _erase(org, alice, clock)
    again = make_subject(org, clock.now(), EXTERNAL_ID, email="back@example.cn")
    grant(org, again, clock.now(), "analytics")
    second = _erase(org, again, clock)
    assert second.pseudonym == first.pseudonym + ".2"
    assert find_erased(org, EXTERNAL_ID) == [alice, again]
    create_checkpoint(org, clock.now())
    report = verify_organization(org)
    assert report.ok, report.problems


def test_no_act_is_recorded_for_an_erased_person(db, org, alice, clock):
    _erase(org, alice, clock)
    with pytest.raises(NotFound):
        grant(org, alice, clock.now(), "analytics")


def test_sign_in_links_are_deleted_and_an_open_session_ends(db, client, org, alice, clock):
    url, _ = create_link(org, alice, clock.now())
    path = url.removeprefix("https://consent.test")
    assert client.get(path).status_code == 302
    assert client.get("/dashboard/").status_code == 200
    create_link(org, alice, clock.now())
    erasure = _erase(org, alice, clock)
    assert erasure.sign_in_links_deleted == 2
    assert rows_of(db, alice.id)["dashboard_link"] == []
    assert client.get("/dashboard/").status_code == 401


def test_the_reason_and_reference_are_checked(db, org, alice, clock):
    before = rows_of(db, alice.id)
    for options in ({"reason": ""}, {"reason": "x" * 1001}, {"reference": " "}, {"reference": "r" * 201}):
        with pytest.raises(InvalidInput):
            _erase(org, alice, clock, **options)
    assert rows_of(db, alice.id) == before


def test_another_organization_s_person_is_not_found(db, org, alice, clock):
    with pytest.raises(NotFound):
        _erase(make_org(clock.now(), "erase-stranger"), alice, clock)


def test_the_receipt_route_answers_410_for_an_erased_receipt(db, client, api, clock):
    subject = make_subject(api.org, clock.now(), "route-user", email="route@example.cn")
    result = grant(api.org, subject, clock.now(), "marketing", evidence={"ip": IP, "user_agent": USER_AGENT})
    token = result.receipt_tokens[0]
    receipt_id = db.session.scalars(
        select(ConsentReceipt.receipt_id).where(ConsentReceipt.event_id == result.events[0].id)
    ).one()
    response = client.get(f"/api/v1/receipts/{receipt_id}", headers=api.headers)
    assert response.status_code == 200, response.json
    assert (response.json["receipt_id"], response.json["jws"]) == (receipt_id, token)
    erase_subject(api.org, subject, clock.now(), reason="account cancellation")
    response = client.get(f"/api/v1/receipts/{receipt_id}", headers=api.headers)
    body = assert_problem(response, 410, "receipt_erased")
    assert body["details"] == {"jws_sha256": hashlib.sha256(token.encode()).hexdigest()}
    assert "route-user" not in response.get_data(as_text=True)
    assert_problem(client.get("/api/v1/receipts/no-such-receipt", headers=api.headers), 404, "not_found")


def test_a_replayed_grant_of_an_erased_person_is_not_found(db, org, clock):
    """The company's retry of a grant after the erasure finds nobody (the chain is closed)."""
    subject = make_subject(org, clock.now(), "retry-user")
    grant(org, subject, clock.now(), "analytics", idempotency_key="k-1")
    _erase(org, subject, clock)
    with pytest.raises(NotFound):
        consent.record_act(
            org, subject, clock.now(), purposes=["analytics"], action="grant", consent_type="explicit",
            idempotency_key="k-1",
        )  # fmt: skip


def test_an_erased_person_is_found_by_nobody_and_nothing_is_written_under_the_pseudonym(
    db, org, alice, clock
):
    done = erase_subject(org, alice, clock.now(), reason="deletion request", reference="rr_test")
    assert subjects.find_subject(org, EXTERNAL_ID) is None
    assert subjects.find_subject(org, done.pseudonym) is None
    with pytest.raises(Conflict):
        subjects.upsert_subject(org, done.pseudonym, clock.now(), email="new@example.cn")
    assert alice.email is None
    returned = subjects.upsert_subject(org, EXTERNAL_ID, clock.now(), email="back@example.cn")
    assert returned.id != alice.id  # the person came back: a new record, not the erased one
