"""A stored receipt must say what its event says: :func:`claims_mismatch` names the first claim
that does not."""

from __future__ import annotations

import copy
import json

import pytest
from joserfc.util import urlsafe_b64decode
from sqlalchemy import select

from consent_service.consent.models import ConsentEvent
from consent_service.consent.rows import EventRow
from consent_service.receipts.service import EVENT_CLAIMS, claims_mismatch
from tests.factories import grant, make_org, make_purpose, make_subject, publish_policy


@pytest.fixture
def signed(db, clock):
    """A guardian's grant with a notice, an expiry and a policy: its stored event and claims."""
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "ads", consent_validity_days=30)
    publish_policy(org, clock.now(), "v1")
    subject = make_subject(org, clock.now(), "kid", is_under_14=True)
    result = grant(
        org,
        subject,
        clock.now(),
        "ads",
        policy_version="v1",
        actor={"kind": "guardian", "name": "王芳", "relationship": "mother"},
        evidence={"locale": "en", "notice_sha256": "c" * 64},
    )
    token = next(iter(result.receipts.values()))
    claims = json.loads(urlsafe_b64decode(token.split(".")[1].encode()))
    db.session.expire_all()
    event = EventRow.from_model(
        db.session.scalars(select(ConsentEvent).where(ConsentEvent.org_id == org.id)).one()
    )
    return event, claims


def mismatch(event, claims, receipt_id=None):
    receipt_id = receipt_id or claims["consentReceiptID"]
    return claims_mismatch(claims, "kid", event, receipt_id, event.purpose_code, event.policy_label)


def test_a_receipt_says_what_its_event_says(signed):
    event, claims = signed
    assert claims["pipl"]["expiresAt"] and claims["pipl"]["guardian"]
    assert mismatch(event, claims) is None


def test_the_same_instant_written_otherwise_is_the_same_expiry(signed):
    event, claims = signed
    claims["pipl"]["expiresAt"] = claims["pipl"]["expiresAt"].replace("+00:00", "Z")
    assert mismatch(event, claims) is None


@pytest.mark.parametrize(
    "path",
    [
        *EVENT_CLAIMS,
        ("pipl", "purposeCode"),
        ("pipl", "purposeVersion"),
        ("pipl", "consentType"),
        ("pipl", "policyVersion"),
    ],
)
def test_every_claim_of_the_event_is_compared(signed, path):
    event, claims = signed
    changed = copy.deepcopy(claims)
    target = changed if len(path) == 1 else changed["pipl"]
    target[path[-1]] = "something else"
    assert mismatch(event, changed, claims["consentReceiptID"]) == ".".join(path)
    del target[path[-1]]
    assert mismatch(event, changed, claims["consentReceiptID"]) == ".".join(path)


def test_the_kantara_consent_type_is_compared(signed):
    event, claims = signed
    claims["services"][0]["purposes"][0]["consentType"] = "IMPLIED"
    assert mismatch(event, claims) == "services.purposes.consentType"
    assert mismatch(event, {"pipl": []}, "any") == "pipl"
