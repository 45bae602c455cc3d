"""End to end over a real socket: a company back end with Authlib's OAuth 2.0 client.

The application runs on 127.0.0.1 (werkzeug, a free port) on its own SQLite file, because
every call commits for real. The client fetches a token with the client credentials grant,
creates a person, records a grant (201 with a signed receipt that verifies against the
published JWK Set), asks for a decision, withdraws, asks again, revokes its token, and the
very next call is refused with 401 ``Bearer error="invalid_token"``.

The server's clock is fixed and moved by the test, so nothing depends on wall-clock timing.
"""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from consent_service.receipts.keys import verify
from tests.api.live import LiveServer, Tenant, dispose, make_live_app, make_tenant

SCOPE = "subjects:write consents:read consents:write"


@pytest.fixture
def live_app(tmp_path):
    app = make_live_app(tmp_path / "e2e")
    yield app
    dispose(app)


@pytest.fixture
def tenant(live_app) -> Tenant:
    return make_tenant(live_app)


@pytest.fixture
def server(live_app):
    with LiveServer(live_app) as live:
        live_app.config["BASE_URL"] = live.url
        yield live


@pytest.fixture
def oauth_session(server, tenant):
    """Authlib's client for the tenant; closed before the server stops."""
    session = OAuth2Session(tenant.client_id, tenant.client_secret, scope=SCOPE)
    session.default_timeout = 10
    yield session
    session.close()


def test_token_record_decide_withdraw_revoke(live_app, server, oauth_session):
    api = server.url + "/api/v1"
    clock = live_app.extensions["clock"]

    metadata = requests.get(server.url + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["token_endpoint"] == server.url + "/oauth/token"

    token = oauth_session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == set(SCOPE.split())
    assert token["expires_in"] == 3600

    response = oauth_session.put(f"{api}/subjects/u-42", json={"email": "li.lei@example.cn"})
    assert response.status_code == 201, response.text
    assert response.json()["external_id"] == "u-42"

    clock.advance(minutes=1)
    response = oauth_session.post(
        f"{api}/subjects/u-42/consents",
        json={"purpose": "marketing", "action": "grant", "consent_type": "explicit", "policy_version": "v1"},
        headers={"Idempotency-Key": "grant-u-42-marketing"},
    )
    assert response.status_code == 201, response.text
    granted = response.json()
    assert granted["event"]["action"] == "grant"
    assert granted["state"]["status"] == "granted"
    jwks = requests.get(server.url + "/.well-known/jwks.json", timeout=10).json()
    _header, receipt = verify(granted["receipt"], jwks)
    assert receipt["piiPrincipalId"] == "u-42"

    # A retry with the same key answers the first response and writes nothing.
    retry = oauth_session.post(
        f"{api}/subjects/u-42/consents",
        json={"purpose": "marketing", "action": "grant", "consent_type": "explicit", "policy_version": "v1"},
        headers={"Idempotency-Key": "grant-u-42-marketing"},
    )
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["event"]["id"] == granted["event"]["id"]

    clock.advance(minutes=1)
    decision = oauth_session.get(f"{api}/subjects/u-42/decisions/marketing")
    assert decision.status_code == 200, decision.text
    assert decision.json()["allowed"] is True
    assert decision.json()["consent_event_id"] == granted["event"]["id"]

    clock.advance(minutes=1)
    response = oauth_session.post(
        f"{api}/subjects/u-42/consents", json={"purpose": "marketing", "action": "withdraw"}
    )
    assert response.status_code == 201, response.text
    withdrawn = response.json()
    assert withdrawn["state"]["status"] == "withdrawn"
    assert withdrawn["receipt"] is None

    clock.advance(minutes=1)
    decision = oauth_session.get(f"{api}/subjects/u-42/decisions/marketing")
    assert decision.status_code == 200, decision.text
    assert decision.json()["allowed"] is False
    assert decision.json()["reason"] == "withdrawn"
    assert decision.json()["consent_event_id"] == withdrawn["event"]["id"]

    history = oauth_session.get(f"{api}/subjects/u-42/consent-events")
    assert [e["action"] for e in history.json()["events"]] == ["withdraw", "grant"]

    revoked = oauth_session.revoke_token(
        metadata["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200, revoked.text

    # The very next call with the revoked token: no cache, no grace period.
    response = oauth_session.get(f"{api}/subjects/u-42/decisions/marketing")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json()["code"] == "invalid_token"

    # A fresh token works again: revocation was of that one token, not of the client.
    oauth_session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    response = oauth_session.get(f"{api}/subjects/u-42/decisions/marketing")
    assert response.status_code == 200, response.text


def test_client_secret_post_introspection_and_scope(live_app, server, tenant):
    """The other client authentication method; introspection before and after revocation; a
    token without a scope gets 403 naming it."""
    token_url = server.url + "/oauth/token"
    with OAuth2Session(
        tenant.client_id,
        tenant.client_secret,
        scope="consents:read",
        token_endpoint_auth_method="client_secret_post",
    ) as session:
        session.default_timeout = 10
        token = session.fetch_token(token_url, grant_type="client_credentials")
        assert token["scope"] == "consents:read"

        info = session.introspect_token(server.url + "/oauth/introspect", token=token["access_token"]).json()
        assert info["active"] is True
        assert info["client_id"] == tenant.client_id
        assert info["org"] == tenant.slug

        response = session.put(server.url + "/api/v1/subjects/u-7", json={})
        assert response.status_code == 403
        assert response.json()["required_scope"] == "subjects:write"
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]

        session.revoke_token(server.url + "/oauth/revoke", token=token["access_token"])
        info = session.introspect_token(server.url + "/oauth/introspect", token=token["access_token"]).json()
        assert info["active"] is False


def test_wrong_secret_gets_no_token(server, tenant):
    with OAuth2Session(tenant.client_id, "not-the-secret") as session:
        session.default_timeout = 10
        with pytest.raises(OAuthError) as excinfo:
            session.fetch_token(server.url + "/oauth/token", grant_type="client_credentials")
        assert excinfo.value.error == "invalid_client"
