"""The OAuth 2.0 authorization server: token endpoint, introspection, revocation, metadata, CLI.

Client credentials only (RFC 6749 4.4), authenticated with ``client_secret_basic`` or
``client_secret_post``; introspection (RFC 7662) and revocation (RFC 7009) take effect on
the very next API call; metadata per RFC 8414; secrets and tokens are stored only as hashes;
``flask clients ...`` manages clients and fails cleanly on bad input.
"""

from __future__ import annotations

import base64
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from consent_service.oauth import service as oauth
from consent_service.oauth.models import OAuthClient, OAuthToken
from consent_service.oauth.scopes import SCOPES
from tests.factories import make_org, make_purpose

READ_SCOPES = ("purposes:read", "consents:read")


@dataclass
class Registered:
    """A client of an organization, with its secret in the clear (as handed to the company)."""

    org: object
    client_id: str
    secret: str

    def basic(self, secret: str | None = None) -> dict[str, str]:
        raw = f"{self.client_id}:{secret or self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
def register(db, clock):
    """Register a client (of a new organization unless one is given) holding ``scopes``."""

    def make(scopes=READ_SCOPES, org=None) -> Registered:
        if org is None:
            org = make_org(clock.now())
            make_purpose(org, clock.now(), "marketing")
        issued = oauth.create_client(org, "backend", list(scopes), clock.now())
        db.session.commit()
        return Registered(org, issued.client.client_id, issued.client_secret)

    return make


@pytest.fixture
def registered(register) -> Registered:
    return register()


def token_response(client, reg: Registered, scope: str | None = None, secret: str | None = None):
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return client.post("/oauth/token", data=data, headers=reg.basic(secret))


def get_token(client, reg: Registered, scope: str | None = None) -> str:
    response = token_response(client, reg, scope)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_get(client, token: str):
    return client.get("/api/v1/purposes", headers=bearer(token))


def assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.json
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


@contextmanager
def config(app, **values):
    """Set configuration keys for the duration of a block, then put them back."""
    saved = {key: app.config[key] for key in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(saved)


# --- token endpoint ------------------------------------------------------------------------


def test_token_with_client_secret_basic(client, registered):
    response = token_response(client, registered)
    assert response.status_code == 200
    body = response.json
    assert body["token_type"].lower() == "bearer"
    assert body["access_token"]
    assert "refresh_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    assert api_get(client, body["access_token"]).status_code == 200


def test_token_with_client_secret_post(client, registered):
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": registered.client_id,
            "client_secret": registered.secret,
        },
    )
    assert response.status_code == 200, response.json
    assert api_get(client, response.json["access_token"]).status_code == 200


@pytest.mark.parametrize("method", ["basic", "post"])
def test_wrong_secret_is_invalid_client(client, registered, method):
    if method == "basic":
        response = token_response(client, registered, secret="not-the-secret")
    else:
        response = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": registered.client_id,
                "client_secret": "not-the-secret",
            },
        )
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    assert "access_token" not in response.json


def test_unknown_client_is_invalid_client(client, registered):
    stranger = Registered(registered.org, "cs_nobody", registered.secret)
    response = token_response(client, stranger)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "urn:example:nope"])
def test_unknown_grant_type(client, registered, grant_type):
    response = client.post(
        "/oauth/token",
        data={"grant_type": grant_type, "username": "u", "password": "p", "code": "c"},
        headers=registered.basic(),
    )
    assert response.status_code == 400
    assert response.json["error"] == "unsupported_grant_type"


def test_scope_the_client_lacks_is_invalid_scope(client, registered, db):
    response = token_response(client, registered, scope="consents:read consents:write")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"
    assert db.session.scalar(select(OAuthToken.id)) is None


def test_unknown_scope_is_invalid_scope(client, registered):
    response = token_response(client, registered, scope="admin")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"


def test_no_scope_asked_gives_every_scope_held(client, registered):
    response = token_response(client, registered)
    assert set(response.json["scope"].split()) == set(READ_SCOPES)


def test_a_subset_of_scopes_can_be_asked_for(client, registered):
    response = token_response(client, registered, scope="consents:read")
    assert response.json["scope"] == "consents:read"
    token = response.json["access_token"]
    # The token holds only what was asked for, not every scope of the client.
    refused = api_get(client, token)
    assert refused.status_code == 403
    assert refused.json["required_scope"] == "purposes:read"


def test_token_lifetime_is_an_hour_by_default(client, registered, db, clock):
    response = token_response(client, registered)
    assert response.json["expires_in"] == 3600
    row = db.session.scalars(select(OAuthToken)).one()
    assert row.issued_at == clock.now()
    assert row.expires_at == clock.now() + timedelta(hours=1)


def test_token_lifetime_is_configurable(app, client, registered, db, clock):
    with config(app, TOKEN_LIFETIME_SECONDS=120):
        response = token_response(client, registered)
    assert response.json["expires_in"] == 120
    row = db.session.scalars(select(OAuthToken)).one()
    assert row.expires_at == clock.now() + timedelta(seconds=120)
    token = response.json["access_token"]
    clock.advance(seconds=119)
    assert api_get(client, token).status_code == 200
    clock.advance(seconds=1)
    assert_invalid_token(api_get(client, token))


def test_secret_and_token_are_stored_only_as_hashes(client, registered, db):
    token = get_token(client, registered)
    client_row = db.session.scalars(select(OAuthClient)).one()
    token_row = db.session.scalars(select(OAuthToken)).one()
    assert client_row.client_secret_hash == hashlib.sha256(registered.secret.encode()).hexdigest()
    assert token_row.access_token_hash == hashlib.sha256(token.encode()).hexdigest()
    # No column of either table holds the plaintext.
    for table in ("oauth_client", "oauth_token"):
        for row in db.session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
            values = " ".join(str(v) for v in row)
            assert registered.secret not in values
            assert token not in values


# --- the resource side ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-token", "Basic Zm9vOmJhcg==", "bearer  "],
    ids=["none", "empty", "unknown", "basic", "blank"],
)
def test_api_without_a_valid_token_is_401(client, registered, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    assert_invalid_token(client.get("/api/v1/purposes", headers=headers))


def test_expired_token_is_refused(client, registered, clock):
    token = get_token(client, registered)
    clock.advance(seconds=3599)
    assert api_get(client, token).status_code == 200
    clock.advance(seconds=1)
    response = api_get(client, token)
    assert_invalid_token(response)
    assert "expired" in response.json["detail"]


# --- introspection (RFC 7662) ----------------------------------------------------------------


def introspect(client, reg: Registered, token: str):
    return client.post("/oauth/introspect", data={"token": token}, headers=reg.basic())


def test_introspection_of_an_active_token(client, registered, clock):
    token = get_token(client, registered)
    response = introspect(client, registered, token)
    assert response.status_code == 200
    body = response.json
    assert body["active"] is True
    assert set(body["scope"].split()) == set(READ_SCOPES)
    assert body["client_id"] == registered.client_id
    assert body["token_type"] == "Bearer"
    assert body["exp"] == int((clock.now() + timedelta(hours=1)).timestamp())
    assert body["iat"] == int(clock.now().timestamp())


def test_introspection_with_client_secret_post(client, registered):
    token = get_token(client, registered)
    response = client.post(
        "/oauth/introspect",
        data={"token": token, "client_id": registered.client_id, "client_secret": registered.secret},
    )
    assert response.json["active"] is True


def test_introspection_needs_client_authentication(client, registered):
    token = get_token(client, registered)
    response = client.post("/oauth/introspect", data={"token": token})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    assert "active" not in response.json


def test_introspection_of_a_revoked_token(client, registered):
    token = get_token(client, registered)
    assert client.post("/oauth/revoke", data={"token": token}, headers=registered.basic()).status_code == 200
    assert introspect(client, registered, token).json == {"active": False}


def test_introspection_of_an_expired_token(client, registered, clock):
    token = get_token(client, registered)
    clock.advance(hours=1, seconds=1)
    assert introspect(client, registered, token).json == {"active": False}


def test_introspection_of_an_unknown_token(client, registered):
    assert introspect(client, registered, "no-such-token").json == {"active": False}


def test_introspection_of_a_revoked_clients_token(client, registered, clock, db):
    other = Registered(registered.org, *_second_client(registered.org, clock, db))
    token = get_token(client, registered)
    oauth.revoke_client(registered.client_id, clock.now())
    db.session.commit()
    assert introspect(client, other, token).json == {"active": False}


def test_a_client_of_another_org_cannot_introspect(client, registered, register):
    token = get_token(client, registered)
    stranger = register()
    response = introspect(client, stranger, token)
    assert response.status_code == 200
    assert response.json == {"active": False}
    # ...while a client of the same organization can.
    assert introspect(client, registered, token).json["active"] is True


def _second_client(org, clock, db) -> tuple[str, str]:
    issued = oauth.create_client(org, "second", ["consents:read"], clock.now())
    db.session.commit()
    return issued.client.client_id, issued.client_secret


# --- revocation (RFC 7009) -------------------------------------------------------------------


def test_revocation_takes_effect_on_the_next_call(client, registered, db):
    token = get_token(client, registered)
    other = get_token(client, registered)
    assert api_get(client, token).status_code == 200
    response = client.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        headers=registered.basic(),
    )
    assert response.status_code == 200
    assert_invalid_token(api_get(client, token))
    row = db.session.scalars(
        select(OAuthToken).where(OAuthToken.access_token_hash == hashlib.sha256(token.encode()).hexdigest())
    ).one()
    assert row.revoked_at is not None
    # Only that token: the client's other token still works.
    assert api_get(client, other).status_code == 200


def test_revocation_with_client_secret_post(client, registered):
    token = get_token(client, registered)
    response = client.post(
        "/oauth/revoke",
        data={"token": token, "client_id": registered.client_id, "client_secret": registered.secret},
    )
    assert response.status_code == 200
    assert_invalid_token(api_get(client, token))


def test_revocation_needs_client_authentication(client, registered):
    token = get_token(client, registered)
    response = client.post("/oauth/revoke", data={"token": token})
    assert response.status_code == 401
    assert api_get(client, token).status_code == 200


def test_a_client_cannot_revoke_another_clients_token(client, registered, register):
    token = get_token(client, registered)
    stranger = register()
    client.post("/oauth/revoke", data={"token": token}, headers=stranger.basic())
    assert api_get(client, token).status_code == 200


def test_revoking_an_unknown_token_is_not_an_error(client, registered):
    response = client.post("/oauth/revoke", data={"token": "no-such-token"}, headers=registered.basic())
    assert response.status_code == 200


# --- metadata (RFC 8414) ---------------------------------------------------------------------


def test_metadata(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json
    base = "https://consent.test"
    assert meta["issuer"] == base
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["introspection_endpoint"] == f"{base}/oauth/introspect"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["grant_types_supported"] == ["client_credentials"]
    methods = {"client_secret_basic", "client_secret_post"}
    for key in (
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ):
        assert set(meta[key]) == methods, key
    assert meta["scopes_supported"] == list(SCOPES)
    assert len(SCOPES) == 12


# --- the CLI ---------------------------------------------------------------------------------


def run(cli, *args: str):
    return cli.invoke(args=list(args))


def assert_ok(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None, result.output


def assert_clean_failure(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert message in result.output


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "marketing")
    db.session.commit()
    return org


def cli_create(cli, scopes: str = "purposes:read consents:read", slug: str = "shop") -> Registered:
    result = run(cli, "clients", "create", "--org", slug, "--name", "shop backend", "--scopes", scopes)
    assert_ok(result)
    printed = json.loads(result.output)
    assert set(printed) == {"client_id", "client_secret"}
    return Registered(None, printed["client_id"], printed["client_secret"])


def test_cli_create_prints_credentials_that_work(cli, client, org, db):
    reg = cli_create(cli, "purposes:read consents:read consents:write")
    row = db.session.scalars(select(OAuthClient).where(OAuthClient.client_id == reg.client_id)).one()
    assert row.org_id == org.id
    assert row.name == "shop backend"
    assert row.scope == "purposes:read consents:read consents:write"  # in the order of SCOPES
    assert reg.secret not in row.client_secret_hash
    response = token_response(client, reg)
    assert response.status_code == 200
    assert set(response.json["scope"].split()) == {"purposes:read", "consents:read", "consents:write"}
    listing = api_get(client, response.json["access_token"])
    assert [p["code"] for p in listing.json["purposes"]] == ["marketing"]


def test_cli_create_shows_the_secret_only_once(cli, org):
    reg = cli_create(cli)
    listing = run(cli, "clients", "list")
    assert_ok(listing)
    assert reg.client_id in listing.output
    assert reg.secret not in listing.output


@pytest.mark.parametrize(
    ("scopes", "message"),
    [("purposes:read admin", "unknown: admin"), ("", "name at least one scope")],
)
def test_cli_create_with_bad_scopes_fails_cleanly(cli, org, db, scopes, message):
    result = run(cli, "clients", "create", "--org", "shop", "--name", "n", "--scopes", scopes)
    assert_clean_failure(result, message)
    assert db.session.scalar(select(OAuthClient.id)) is None


def test_cli_create_for_an_unknown_org_fails_cleanly(cli, org, db):
    result = run(cli, "clients", "create", "--org", "nope", "--name", "n", "--scopes", "consents:read")
    assert_clean_failure(result, "no organization 'nope'")
    assert db.session.scalar(select(OAuthClient.id)) is None


def test_cli_rotate_secret(cli, client, org):
    reg = cli_create(cli)
    token = get_token(client, reg)
    result = run(cli, "clients", "rotate-secret", reg.client_id)
    assert_ok(result)
    printed = json.loads(result.output)
    assert printed["client_id"] == reg.client_id
    assert printed["client_secret"] != reg.secret
    old = token_response(client, reg)
    assert old.status_code == 401
    assert old.json["error"] == "invalid_client"
    assert token_response(client, reg, secret=printed["client_secret"]).status_code == 200
    # Tokens issued before the rotation stay valid until they expire.
    assert api_get(client, token).status_code == 200


def test_cli_revoke_stops_tokens_at_once(cli, client, org):
    reg = cli_create(cli)
    token = get_token(client, reg)
    assert api_get(client, token).status_code == 200
    result = run(cli, "clients", "revoke", reg.client_id)
    assert_ok(result)
    assert reg.client_id in result.output
    assert_invalid_token(api_get(client, token))
    refused = token_response(client, reg)
    assert refused.status_code == 401
    assert refused.json["error"] == "invalid_client"
    listing = run(cli, "clients", "list", "--org", "shop")
    line = next(x for x in listing.output.splitlines() if x.startswith(reg.client_id))
    assert line.split("\t")[3] == "revoked"


def test_cli_revoked_client_cannot_rotate(cli, org):
    reg = cli_create(cli)
    assert_ok(run(cli, "clients", "revoke", reg.client_id))
    assert_clean_failure(run(cli, "clients", "rotate-secret", reg.client_id), "client is revoked")


@pytest.mark.parametrize("command", ["rotate-secret", "revoke"])
def test_cli_unknown_client_fails_cleanly(cli, org, command):
    assert_clean_failure(run(cli, "clients", command, "cs_nobody"), "no client 'cs_nobody'")


def test_cli_list(cli, org, db, clock):
    first = cli_create(cli)
    other = make_org(clock.now(), "other-shop")
    db.session.commit()
    second = cli_create(cli, "webhooks:manage", slug="other-shop")
    everything = run(cli, "clients", "list")
    assert_ok(everything)
    rows = [line.split("\t") for line in everything.output.splitlines()]
    assert [r[0] for r in rows] == [first.client_id, second.client_id]
    assert rows[0][1:4] == ["shop", "shop backend", "active"]
    assert rows[1][1] == other.slug
    assert rows[1][4] == "webhooks:manage"
    only = run(cli, "clients", "list", "--org", "other-shop")
    assert [line.split("\t")[0] for line in only.output.splitlines()] == [second.client_id]


def test_cli_list_for_an_unknown_org_fails_cleanly(cli, org):
    assert_clean_failure(run(cli, "clients", "list", "--org", "nope"), "no organization 'nope'")
