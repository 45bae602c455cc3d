"""The command line: ``flask demo seed``; its output and its exit status (1 with a message, never
a traceback)."""

from __future__ import annotations

import json

from sqlalchemy import select

from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.consent.subjects import is_minor
from consent_service.demo import STAFF_PASSWORD
from consent_service.organizations import service as organizations
from consent_service.organizations.models import Organization
from consent_service.policies import service as policies
from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.rights.models import RightsRequest, RightsTask
from consent_service.staff import accounts
from tests.cli_support import assert_ok, run


def test_demo_seed_creates_the_demo_organization(db, clock, seeded):
    assert seeded == {
        "organization": True,
        "purposes": 6,
        "policy": True,
        "events": 7,
        "data_systems": 2,
        "rights_requests": 5,
        "staff": 2,
        "checkpoint": 1,
    }
    org = organizations.get_organization("demo")
    codes = set(db.session.scalars(select(Purpose.code).where(Purpose.org_id == org.id)))
    assert codes == {
        "account",
        "order_fulfilment",
        "marketing_sms",
        "recommendations",
        "face_verification",
        "support_overseas",
    }
    policy = policies.get_policy(org, "2026.1")
    assert policy.status == "published"
    assert {v.purpose.code for v in policy.purpose_versions} == codes
    subjects = {s.external_id: s for s in db.session.scalars(select(Subject).where(Subject.org_id == org.id))}
    assert set(subjects) == {"u-1001", "u-1002", "u-1003", "u-1004"}
    minors = [eid for eid, s in subjects.items() if is_minor(s, org, clock.now())]
    assert minors == ["u-1003"]
    state = db.session.scalars(
        select(ConsentState).where(ConsentState.subject_id == subjects["u-1003"].id)
    ).one()
    assert (state.status, state.is_guardian_act) == ("granted", True)


def test_demo_seed_twice_creates_nothing_new(cli, db, seeded):
    result = run(cli, "demo", "seed")
    assert_ok(result)
    assert json.loads(result.output) == {
        "organization": False,
        "purposes": 0,
        "policy": False,
        "events": 0,
        "data_systems": 0,
        "rights_requests": 0,
        "staff": 0,
        "checkpoint": None,
    }
    assert db.session.scalar(select(Organization.id).where(Organization.slug == "demo")) is not None
    org = organizations.get_organization("demo")
    events = list(db.session.scalars(select(ConsentEvent.id).where(ConsentEvent.org_id == org.id)))
    assert len(events) == seeded["events"] == 7
    assert len(list(db.session.scalars(select(PolicyVersion.id).where(PolicyVersion.org_id == org.id)))) == 1


def test_demo_requests_wait_for_the_demo_systems(db, seeded):
    org = organizations.get_organization("demo")
    requests = db.session.scalars(select(RightsRequest).where(RightsRequest.org_id == org.id)).all()
    assert sorted((r.type, r.status) for r in requests) == [
        ("access", "awaiting_systems"),
        ("copy", "awaiting_systems"),
        ("correction", "awaiting_systems"),
        ("deletion", "awaiting_systems"),
        ("explanation", "verifying_identity"),
    ]
    assert len(db.session.scalars(select(RightsTask).where(RightsTask.org_id == org.id)).all()) == 8


def test_the_demo_staff_sign_in_outside_production(db, seeded, clock):
    org = organizations.get_organization("demo")
    officer = accounts.find_member(org, "officer@hanshan-mall.example")
    assert (officer.role, officer.password_hash is not None) == ("officer", True)
    assert accounts.authenticate(org, officer.email, STAFF_PASSWORD, clock.now(), "en") == officer
