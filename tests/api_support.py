"""API fixtures (a pytest plugin of the root conftest): an organization with purposes, a client
holding every scope, tokens, and the problem-document check every API test shares."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from consent_service.oauth import service as oauth
from consent_service.oauth.scopes import SCOPES
from tests.factories import (
    make_contract_purpose,
    make_org,
    make_purpose,
    make_sensitive_purpose,
    publish_policy,
)


@dataclass
class ApiCaller:
    """A client of one organization, ready to call the API."""

    org: object
    client_id: str
    client_secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def issue_token(client, client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post("/oauth/token", data=data, headers={"Authorization": f"Basic {raw}"})
    assert response.status_code == 200, response.json
    return response.json["access_token"]


@pytest.fixture
def make_caller(client, db, clock):
    """Make an organization (with purposes and a published policy) and a client for it."""

    def make(scopes: tuple[str, ...] = SCOPES, org=None) -> ApiCaller:
        if org is None:
            org = make_org(clock.now())
            make_purpose(org, clock.now(), "marketing")
            make_sensitive_purpose(org, clock.now(), "face")
            make_contract_purpose(org, clock.now(), "orders")
            publish_policy(org, clock.now(), "v1")
        issued = oauth.create_client(org, "backend", list(scopes), clock.now())
        db.session.commit()
        token = issue_token(client, issued.client.client_id, issued.client_secret)
        return ApiCaller(org, issued.client.client_id, issued.client_secret, token)

    return make


@pytest.fixture
def api(make_caller) -> ApiCaller:
    """A caller holding every scope."""
    return make_caller()


PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    """An RFC 9457 problem document with this status and code; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["detail"]
    assert body["type"].endswith(f"#problem-{code}")
    return body
