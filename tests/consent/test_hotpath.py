"""The API's hot paths answer exactly as ``decide()`` does, for every reason code."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consent_service.consent.decisions import REASONS, decide
from consent_service.consent.hotpath import decide_many, decide_with_token
from consent_service.oauth import service as oauth
from consent_service.oauth.guard import InsufficientScope, InvalidToken
from consent_service.oauth.models import OAuthToken
from consent_service.policies import purposes
from tests.api.live import bearer_headers, dispose, make_live_app, make_tenant
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
    purposes.change_purpose(org, "news", {"pi_categories": ["device"]}, clock.now())
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


#: Moments to decide at, from now: the past folds history, now and later read the state rows.
MOMENTS = {
    "3 days ago": timedelta(days=-3),
    "an hour ago": timedelta(hours=-1),
    "now": timedelta(0),
    "in an hour": timedelta(hours=1),
    "in 3 days": timedelta(days=3),
    "in 20 years": timedelta(days=365 * 20),
}


@pytest.mark.parametrize("offset", MOMENTS.values(), ids=MOMENTS.keys())
def test_batch_and_single_decisions_agree_at_every_moment(scene, clock, client, offset):
    """For any ``at`` (past, now, future), the batch route, the single route and ``decide()``
    give one answer: a grant valid for one day is expired three days on, whichever is asked."""
    org, token = scene
    subjects = ["granted", "refused", "withdrawn", "none", "changed", "kid", "stranger"]
    codes = ["marketing", "ads", "news", "orders", "unknown"]
    pairs = [(s, p) for s in subjects for p in codes]
    now = clock.now()
    at = now + offset
    headers = {"Authorization": f"Bearer {token}"}
    expected = [decide(org, subject, purpose, at, now) for subject, purpose in pairs]
    if at >= now:
        assert decide_many(org.id, org.timezone, pairs, now, at=at) == expected
    batch = client.post(
        "/api/v1/decisions",
        json={"at": at.isoformat(), "items": [{"subject": s, "purpose": p} for s, p in pairs]},
        headers=headers,
    )
    assert batch.status_code == 200, batch.json
    for (subject, purpose), answer, decision in zip(pairs, batch.json["results"], expected, strict=True):
        single = client.get(
            f"/api/v1/subjects/{subject}/decisions/{purpose}",
            query_string={"at": at.isoformat()},
            headers=headers,
        )
        assert single.status_code == 200, single.json
        assert single.json == answer, (subject, purpose)
        assert (answer["allowed"], answer["reason"]) == (decision.allowed, decision.reason), (
            subject,
            purpose,
        )


def test_a_batch_decision_in_the_future_sees_the_grant_expire(scene, clock, client):
    """The finding reproduced: "ads" is granted for one day; three days on it is expired, not
    allowed, in a batch as in a single decision."""
    org, token = scene
    clock.at -= timedelta(days=2)  # back to the day of the grant: "ads" is in force now
    now = clock.now()
    headers = {"Authorization": f"Bearer {token}"}
    assert decide(org, "granted", "ads", now, now).allowed
    later = (now + timedelta(days=3)).isoformat()
    batch = client.post(
        "/api/v1/decisions",
        json={"at": later, "items": [{"subject": "granted", "purpose": "ads"}]},
        headers=headers,
    )
    assert batch.status_code == 200, batch.json
    assert (batch.json["results"][0]["allowed"], batch.json["results"][0]["reason"]) == (False, "expired")
    single = client.get("/api/v1/subjects/granted/decisions/ads", query_string={"at": later}, headers=headers)
    assert (single.json["allowed"], single.json["reason"]) == (False, "expired")


def test_hot_path_checks_the_token(scene, clock, db):
    org, token = scene
    with pytest.raises(InvalidToken):
        decide_with_token("not-a-token", "granted", "marketing", "consents:read", clock.now())
    with pytest.raises(InsufficientScope):
        decide_with_token(token, "granted", "marketing", "consents:write", clock.now())
    clock.advance(hours=2)
    with pytest.raises(InvalidToken, match="expired"):
        decide_with_token(token, "granted", "marketing", "consents:read", clock.now())


def test_raw_path_keeps_its_connections_and_replaces_a_broken_one(tmp_path):
    """Production's raw path (its own autocommit connections, kept idle between calls): a
    connection that broke while idle is replaced within the same call, and disposing of the
    engine closes what is idle."""
    app = make_live_app(tmp_path / "raw")
    tenant = make_tenant(app)
    try:
        client = app.test_client()
        headers = bearer_headers(client, tenant, "consents:read")
        url = "/api/v1/subjects/nobody/decisions/marketing"
        first = client.get(url, headers=headers)
        assert first.status_code == 200, first.get_data(as_text=True)
        idle = app.extensions["read_engine"].__dict__["_decision_idle"]
        assert len(idle.free) == 1
        kept = idle.free[0][0]
        assert client.get(url, headers=headers).status_code == 200
        assert idle.free[0][0] is kept  # the same connection, not a new one per call

        kept.dbapi_connection.close()  # as if the server had dropped it
        again = client.get(url, headers=headers)
        assert again.status_code == 200, again.get_data(as_text=True)
        assert again.json["reason"] == first.json["reason"]
        assert len(idle.free) == 1 and idle.free[0][0] is not kept
    finally:
        dispose(app)
    assert not idle.free
