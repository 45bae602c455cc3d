"""No input gives a 5xx: each finding of a probe of the running service, reproduced.

Every one of these was a 500; each must be a 4xx problem document (or a 503 that says retry)
with a clear code, and nothing written. Raw JSON text is sent where a lone surrogate or deep
nesting is the point (the test client's own encoder would refuse or re-escape them).
"""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from consent_service.consent import service as consent_service
from consent_service.consent.models import ConsentEvent, Subject
from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.webhooks.models import WebhookEndpoint
from tests.api_support import assert_problem

GRANT = {"purpose": "marketing", "action": "grant", "consent_type": "explicit"}
LONE = "\\ud800"  # as JSON text: the escape of a lone surrogate


def raw_post(client, api, path: str, text: str, **headers: str):
    return client.post(
        f"/api/v1{path}", data=text.encode(), content_type="application/json", headers=api.headers | headers
    )


def count(db, model, org) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.org_id == org.id))


@pytest.fixture
def person(client, api):
    assert client.put("/api/v1/subjects/u1", json={}, headers=api.headers).status_code == 201
    return "u1"


# --- a lone surrogate in any JSON string ---------------------------------------------------------

PURPOSE = {
    "code": "newsletter",
    "name_zh": "简报",
    "name_en": "Newsletter",
    "description_zh": "每周简报",
    "description_en": "A weekly newsletter",
    "function_kind": "extended",
    "legal_basis": "consent",
    "consent_requirement": "explicit",
    "pi_categories": ["basic"],
}

SURROGATE_CASES = {
    "evidence": ("/subjects/u1/consents", GRANT | {"evidence": {"note": "@"}}, "evidence.note", ConsentEvent),
    "purpose": ("/purposes", PURPOSE | {"name_en": "@"}, "name_en", Purpose),
    "policy text": ("/policies", {"label": "v9", "text_en": "@"}, "text_en", PolicyVersion),
    "webhook url": ("/webhooks", {"url": "https://hooks.example/@", "events": ["*"]}, "url", WebhookEndpoint),
    "batch subject": (
        "/consents/batch",
        {"items": [GRANT | {"subject": "@"}]},
        "items.0.subject",
        ConsentEvent,
    ),
    "idempotency key in a batch": (
        "/consents/batch",
        {"items": [GRANT | {"subject": "u1", "idempotency_key": "k@"}]},
        "items.0.idempotency_key",
        ConsentEvent,
    ),
    "a key of an object": (
        "/subjects/u1/consents",
        GRANT | {"evidence": {"@": "x"}},
        "evidence.@",
        ConsentEvent,
    ),
}


@pytest.mark.parametrize(("path", "body", "where", "model"), SURROGATE_CASES.values(), ids=SURROGATE_CASES)
def test_a_lone_surrogate_is_a_422_naming_the_field(client, api, person, db, path, body, where, model):
    text = json.dumps(body).replace("@", LONE)
    before = count(db, model, api.org)
    response = raw_post(client, api, path, text)
    problem = assert_problem(response, 422, "invalid_input")
    assert list(problem["errors"]) == [where.replace("@", "\ud800")]
    assert "Unicode" in problem["errors"][where.replace("@", "\ud800")][0]
    assert count(db, model, api.org) == before


def test_a_surrogate_pair_is_text_and_is_kept(client, api, person, db):
    """An emoji written as an escaped pair is one character, not a lone surrogate."""
    text = json.dumps(GRANT | {"evidence": {"note": "@"}}).replace("@", "\\ud83d\\ude00")
    response = raw_post(client, api, "/subjects/u1/consents", text)
    assert response.status_code == 201, response.json
    assert response.json["event"]["evidence"] == {"note": "\U0001f600"}


# --- nesting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_deep_nesting_is_a_400(client, api, person, db, depth):
    text = (
        '{"purpose": "marketing", "action": "grant", "evidence": {"note": ' + "[" * depth + "]" * depth + "}}"
    )
    assert_problem(raw_post(client, api, "/subjects/u1/consents", text), 400, "nesting_too_deep")
    assert count(db, ConsentEvent, api.org) == 0


# --- OAuth over plain HTTP under a public name -------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_oauth_over_plain_http_is_a_400_invalid_request(client, api, endpoint):
    response = client.post(
        endpoint,
        data={"grant_type": "client_credentials", "token": api.token},
        auth=(api.client_id, api.client_secret),
        base_url="http://consent.example",
    )
    body = assert_problem(response, 400, "invalid_request")
    assert "HTTPS" in body["detail"] and "CONSENT_PROXY_COUNT" in body["detail"]


def test_behind_a_trusted_proxy_https_is_seen(app, client, api, monkeypatch):
    """With one proxy trusted, its X-Forwarded-Proto makes the request HTTPS (and a token is
    issued); without it, the same request is refused."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "consent.example"}
    data = {"grant_type": "client_credentials"}
    refused = client.post(
        "/oauth/token", data=data, auth=(api.client_id, api.client_secret), base_url="http://consent.example",
        headers=headers,
    )  # fmt: skip
    assert refused.status_code == 400
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1))
    issued = client.post(
        "/oauth/token", data=data, auth=(api.client_id, api.client_secret), base_url="http://consent.example",
        headers=headers,
    )  # fmt: skip
    assert issued.status_code == 200, issued.json
    assert issued.json["access_token"]


def test_create_app_trusts_the_configured_proxies(tmp_path):
    from werkzeug.middleware.proxy_fix import ProxyFix

    from consent_service import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "PROXY_COUNT": 1,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "WEBHOOK_DISPATCH": "off",
        }
    )
    assert isinstance(app.wsgi_app, ProxyFix)
    assert (app.wsgi_app.x_for, app.wsgi_app.x_proto, app.wsgi_app.x_host) == (1, 1, 1)


# --- database errors: the same answer wherever they are raised ---------------------------------


def test_one_idempotency_key_for_two_people_at_once_is_a_409(client, api, person, db, monkeypatch):
    """Two requests send one key for different people at the same moment: the one that commits
    second meets the unique index in the driver's own COPY (or executemany). It must be a 409,
    not a 500, and write nothing. The race is made certain by hiding the first use from the
    second request's lookup, as if it had committed in between."""
    assert client.put("/api/v1/subjects/u2", json={}, headers=api.headers).status_code == 201
    assert (
        raw_post(
            client, api, "/subjects/u1/consents", json.dumps(GRANT), **{"Idempotency-Key": "k"}
        ).status_code
        == 201
    )
    original = consent_service._Batch.__init__

    def racing(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.used_keys = set()

    monkeypatch.setattr(consent_service._Batch, "__init__", racing)
    response = raw_post(client, api, "/subjects/u2/consents", json.dumps(GRANT), **{"Idempotency-Key": "k"})
    assert_problem(response, 409, "conflict")
    u2 = db.session.scalars(select(Subject).where(Subject.external_id == "u2")).one()
    assert db.session.scalar(select(func.count()).where(ConsentEvent.subject_id == u2.id)) == 0


BUSY = {
    "lock timeout": psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
    "deadlock": psycopg.errors.DeadlockDetected("deadlock detected"),
    "serialization": psycopg.errors.SerializationFailure("could not serialize access"),
    "sqlite locked": OperationalError("INSERT ...", {}, Exception("database is locked")),
}


@pytest.mark.parametrize("error", BUSY.values(), ids=BUSY)
def test_a_busy_database_is_a_503_with_retry_after_wherever_it_is_raised(
    client, api, person, db, monkeypatch, error
):
    def busy(*args, **kwargs):
        raise error

    monkeypatch.setattr(consent_service, "record_acts", busy)
    response = raw_post(client, api, "/subjects/u1/consents", json.dumps(GRANT))
    assert_problem(response, 503, "database_busy")
    assert response.headers["Retry-After"] == "1"
    assert count(db, ConsentEvent, api.org) == 0


# --- size, replays, times ----------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_before_it_is_read(client, api, person, db, monkeypatch):
    monkeypatch.setitem(client.application.config, "MAX_CONTENT_LENGTH", 10_000)
    items = [GRANT | {"subject": "u1", "evidence": {"note": "x" * 100}} for _ in range(200)]
    response = raw_post(client, api, "/consents/batch", json.dumps({"items": items}))
    assert_problem(response, 413, "payload_too_large")
    assert count(db, ConsentEvent, api.org) == 0


def test_the_default_body_limit_is_five_megabytes(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024


def test_a_key_reused_with_a_different_body_is_a_422(client, api, person, db):
    first = raw_post(client, api, "/subjects/u1/consents", json.dumps(GRANT), **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    changed = GRANT | {"evidence": {"note": "another notice"}}
    response = raw_post(
        client, api, "/subjects/u1/consents", json.dumps(changed), **{"Idempotency-Key": "k-1"}
    )
    assert_problem(response, 422, "idempotency_key_reused")
    # The same body again is a replay, byte for byte (key order does not matter).
    again = raw_post(
        client,
        api,
        "/subjects/u1/consents",
        json.dumps(dict(reversed(GRANT.items()))),
        **{"Idempotency-Key": "k-1"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert count(db, ConsentEvent, api.org) == 1


def test_a_key_repeated_with_a_different_body_in_one_batch_is_refused(client, api, person, db):
    items = [
        GRANT | {"subject": "u1", "idempotency_key": "b-1"},
        GRANT | {"subject": "u1", "idempotency_key": "b-1", "consent_type": "written"},
    ]
    response = raw_post(client, api, "/consents/batch", json.dumps({"items": items}))
    body = assert_problem(response, 422, "invalid_input")
    assert body["errors"]["1"]["code"] == "idempotency_key_reused"
    assert count(db, ConsentEvent, api.org) == 0


@pytest.mark.parametrize("when", ["1999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"])
def test_an_act_before_2000_is_refused(client, api, person, db, when):
    response = raw_post(client, api, "/subjects/u1/consents", json.dumps(GRANT | {"occurred_at": when}))
    body = assert_problem(response, 422, "invalid_input")
    assert body["errors"] == {"occurred_at": ["is before 2000-01-01"]}
    assert count(db, ConsentEvent, api.org) == 0
