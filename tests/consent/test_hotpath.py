"""The API's hot paths answer exactly as ``decide()`` does, for every reason code."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consent_service.consent.decisions import REASONS, decide
from consent_service.consent.hotpath import decide_many, decide_with_token
from consent_service.oauth import service as oauth
from consent_service.oauth.guard import InsufficientScope, InvalidToken
from consent_service.oauth.models import OAuthToken
from consent_service.policies import service as policies
from tests.factories import (
    act,
    grant,
    make_contract_purpose,
    make_org,
    make_purpose,
    make_subject,
    publish_policy,
)


@pytest.fixture
def scene(db, clock):
    """People in every state the rules distinguish, and a token for the organization."""
    t0 = clock.now()
    org = make_org(t0)
    make_purpose(org, t0, "marketing")
    make_purpose(org, t0, "ads", consent_validity_days=1)
    make_purpose(org, t0, "news")
    make_contract_purpose(org, t0, "orders")
    publish_policy(org, t0, "v1")
    people = {
        name: make_subject(org, t0, name) for name in ("granted", "refused", "withdrawn", "none", "changed")
    }
    people["kid"] = make_subject(org, t0, "kid", birth_date=date(2018, 5, 1))
    grant(org, people["granted"], t0, "marketing", "ads", "news")
    act(org, people["refused"], t0, "refuse", "marketing")
    grant(org, people["withdrawn"], t0, "marketing")
    act(org, people["withdrawn"], t0, "withdraw", "marketing")
    grant(org, people["changed"], t0, "news")
    grant(org, people["kid"], t0, "news", actor={"kind": "guardian", "name": "Mum", "relationship": "mother"})
    act(
        org, people["granted"], t0, "invalidate", "news",
        actor={"kind": "officer", "name": "Li", "reason": "wrong notice"},
    )  # fmt: skip
    clock.advance(days=2)  # "ads" lapses
    policies.change_purpose(org, "news", {"pi_categories": ["device"]}, clock.now())
    issued = oauth.create_client(org, "backend", ["consents:read"], clock.now())
    token = "test-token-value"
    db.session.add(
        OAuthToken(
            access_token_hash=oauth.hash_secret(token), client_pk=issued.client.id, org_id=org.id,
            scope="consents:read", issued_at=clock.now(), expires_at=clock.now() + timedelta(hours=1),
        )
    )  # fmt: skip
    db.session.flush()
    return org, token


def test_hot_paths_agree_with_decide_everywhere(scene, clock):
    org, token = scene
    subjects = ["granted", "refused", "withdrawn", "none", "changed", "kid", "stranger"]
    purposes = ["marketing", "ads", "news", "orders", "unknown"]
    pairs = [(s, p) for s in subjects for p in purposes]
    now = clock.now()
    many = decide_many(org.id, org.timezone, pairs, now)
    seen = set()
    for (subject, purpose), batch in zip(pairs, many, strict=True):
        expected = decide(org, subject, purpose, now, now)
        single = decide_with_token(token, subject, purpose, "consents:read", now)
        assert single == expected, (subject, purpose)
        assert batch == expected, (subject, purpose)
        seen.add(expected.reason)
    assert seen == set(REASONS)


def test_hot_path_checks_the_token(scene, clock, db):
    org, token = scene
    with pytest.raises(InvalidToken):
        decide_with_token("not-a-token", "granted", "marketing", "consents:read", clock.now())
    with pytest.raises(InsufficientScope):
        decide_with_token(token, "granted", "marketing", "consents:write", clock.now())
    clock.advance(hours=2)
    with pytest.raises(InvalidToken, match="expired"):
        decide_with_token(token, "granted", "marketing", "consents:read", clock.now())
