"""Recording consent acts: validation, idempotency, evidence and state (PIPL 14-16)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from consent_service.consent import service as consent
from consent_service.consent import subjects
from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.errors import (
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    StalePolicyVersion,
)
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy

NOTICE = "a" * 64


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "ads")
    return org


def event_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ConsentEvent))


def test_event_records_everything_asked(org, clock, db):
    publish_policy(org, clock.now(), "v1")
    subject = make_subject(org, clock.now(), "alice")
    occurred = clock.now() - timedelta(minutes=3)
    clock.advance(seconds=30)
    result = grant(
        org,
        subject,
        clock.now(),
        "marketing",
        method="web",
        evidence={"ip": "198.51.100.4", "user_agent": "UA", "locale": "zh-CN", "notice_sha256": NOTICE},
        occurred_at=occurred,
        policy_version="v1",
    )
    event = db.session.get(ConsentEvent, result.events[0].id)
    assert (event.action, event.consent_type, event.method, event.actor_kind) == (
        "grant",
        "explicit",
        "web",
        "subject",
    )
    assert event.evidence["notice_sha256"] == NOTICE
    assert event.occurred_at == occurred and event.recorded_at == clock.now()
    assert event.policy_seq == 1 and event.purpose_version == 1
    assert event.seq == 1 and event.prev_hash is None and len(event.hash) == 64
    state = db.session.get(ConsentState, (subject.id, event.purpose_id))
    assert (state.status, state.event_id) == ("granted", event.id)


def test_chain_links_each_event_to_the_previous(org, clock):
    subject = make_subject(org, clock.now())
    first = grant(org, subject, clock.now(), "marketing").events[0]
    second = act(org, subject, clock.now(), "withdraw", "marketing").events[0]
    assert second.prev_hash == first.hash and second.seq == 2
    assert subject.chain_head == second.hash and subject.chain_seq == 2


def test_idempotency_key_replays_the_first_act(org, clock, db):
    subject = make_subject(org, clock.now())
    first = grant(org, subject, clock.now(), "marketing", "ads", idempotency_key="k-1")
    before = event_count(db)
    again = grant(org, subject, clock.now(), "ads", "marketing", idempotency_key="k-1")
    assert again.is_replay and event_count(db) == before
    assert [e.id for e in again.events] == [e.id for e in first.events]
    assert again.receipts == first.receipts


def test_idempotency_key_reused_for_another_act(org, clock):
    subject = make_subject(org, clock.now())
    grant(org, subject, clock.now(), "marketing", idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        act(org, subject, clock.now(), "refuse", "ads", idempotency_key="k-1")
    other = make_subject(org, clock.now())
    with pytest.raises(IdempotencyKeyReused):
        grant(org, other, clock.now(), "marketing", idempotency_key="k-1")


def test_idempotency_key_is_per_organization(org, clock):
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "marketing", idempotency_key="same")
    other = make_org(clock.now())
    make_purpose(other, clock.now(), "marketing")
    bob = make_subject(other, clock.now(), "alice")
    assert not grant(other, bob, clock.now(), "marketing", idempotency_key="same").is_replay


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"action": "approve"}, "action"),
        ({"action": "expire"}, "action"),
        ({"consent_type": None}, "consent_type"),
        ({"consent_type": "tacit"}, "consent_type"),
        ({"method": "telepathy"}, "method"),
        ({"method": "system"}, "method"),
        ({"actor": {"kind": "robot"}}, "actor.kind"),
        ({"actor": {"kind": "guardian", "name": "Mum"}}, "actor"),
        ({"actor": {"kind": "officer", "name": "Li"}}, "actor"),
        ({"actor": {"kind": "subject", "age": 3}}, "actor"),
        ({"actor": "me"}, "actor"),
        ({"evidence": {"ip": 127}}, "evidence.ip"),
        ({"evidence": {"secret": "x"}}, "evidence"),
        ({"evidence": {"notice_sha256": "abc"}}, "evidence.notice_sha256"),
        ({"evidence": ["ip"]}, "evidence"),
        ({"occurred_at": datetime(2026, 11, 2, 10, 0)}, "occurred_at"),
        ({"occurred_at": "2026-11-02"}, "occurred_at"),
        ({"purposes": []}, "purposes"),
        ({"purposes": ["marketing", "marketing"]}, "purposes"),
        ({"purposes": [None]}, "purposes"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
    ],
)
def test_bad_act_is_a_domain_error_and_writes_nothing(org, clock, db, options, field):
    subject = make_subject(org, clock.now())
    args = {"purposes": ["marketing"], "action": "grant", "consent_type": "explicit"} | options
    with pytest.raises(InvalidInput) as error:
        consent.record_act(org, subject, clock.now(), **args)
    assert field in error.value.details
    assert event_count(db) == 0


def test_future_occurred_at_is_refused(org, clock):
    subject = make_subject(org, clock.now())
    with pytest.raises(InvalidInput, match="invalid consent act"):
        grant(org, subject, clock.now(), "marketing", occurred_at=clock.now() + timedelta(hours=1))


def test_unknown_purpose_and_foreign_subject(org, clock):
    subject = make_subject(org, clock.now())
    with pytest.raises(NotFound):
        grant(org, subject, clock.now(), "nope")
    other = make_org(clock.now())
    make_purpose(other, clock.now(), "marketing")
    with pytest.raises(NotFound):
        grant(other, subject, clock.now(), "marketing")


def test_unpublished_policy_is_refused(org, clock):
    subject = make_subject(org, clock.now())
    with pytest.raises(StalePolicyVersion):
        grant(org, subject, clock.now(), "marketing", policy_version="v9")


def test_policy_in_force_is_recorded_when_none_named(org, clock):
    publish_policy(org, clock.now(), "v1")
    subject = make_subject(org, clock.now())
    assert grant(org, subject, clock.now(), "marketing").events[0].policy_seq == 1


def test_upsert_subject(org, clock, db):
    subject = subjects.upsert_subject(org, "alice", clock.now(), email="a@example.com")
    same = subjects.upsert_subject(
        org,
        "alice",
        clock.now(),
        birth_date="2015-03-01",
        guardian={"name": "Mum", "relationship": "mother", "contact": "+86 1"},
    )
    assert same.id == subject.id and same.email == "a@example.com"
    assert same.birth_date == date(2015, 3, 1) and same.guardian_relationship == "mother"
    assert subjects.is_minor(same, org, clock.now())
    assert "a@example.com" not in repr(same)
    assert db.session.scalar(select(func.count()).select_from(Subject)) == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"birth_date": "2099-01-01"}, "birth_date"),
        ({"email": "nope"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"guardian": {"age": 40}}, "guardian"),
    ],
)
def test_subject_bad_input(org, clock, args, field):
    external_id = args.pop("external_id", "alice")
    with pytest.raises(InvalidInput) as error:
        subjects.upsert_subject(org, external_id, clock.now(), **args)
    assert field in error.value.details


def test_get_subject(org, clock):
    make_subject(org, clock.now(), "alice")
    assert subjects.get_subject(org, "alice").external_id == "alice"
    with pytest.raises(NotFound):
        subjects.get_subject(org, "bob")
