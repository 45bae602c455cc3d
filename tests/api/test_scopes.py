"""Every operation checks its own scope (RFC 6750): 403 ``insufficient_scope`` naming it, and
401 ``invalid_token`` without a token, each with its ``WWW-Authenticate`` challenge.

Parametrized over the operation registry, so a new route is checked without a new test.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import consent_service.consent.api
import consent_service.policies.api
import consent_service.webhooks.api  # noqa: F401  (each import registers its operations)
from consent_service.api.registry import OPERATIONS
from consent_service.consent.models import ConsentEvent
from consent_service.oauth.scopes import SCOPES

OPS = sorted(OPERATIONS, key=lambda op: (op.rule, op.method))
IDS = [f"{op.method} {op.rule}" for op in OPS]


def url(op) -> str:
    """The operation's path with placeholder values (the scope is checked before anything)."""
    return "/api/v1" + re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "x", op.rule)


def call(client, op, headers: dict[str, str]):
    body = None if op.method == "GET" else {}
    return client.open(url(op), method=op.method, json=body, headers=headers)


def test_every_operation_names_a_known_scope():
    assert OPS
    assert {op.scope for op in OPS} <= set(SCOPES)


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_a_token_without_the_scope_is_refused(client, make_caller, op, db):
    caller = make_caller(tuple(s for s in SCOPES if s != op.scope))
    events = db.session.scalar(select(func.count()).select_from(ConsentEvent))
    response = call(client, op, caller.headers)
    assert response.status_code == 403, response.json
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "insufficient_scope"
    assert response.json["required_scope"] == op.scope
    assert op.scope in response.json["detail"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert f'scope="{op.scope}"' in challenge
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == events


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_the_operations_scope_alone_is_enough(client, make_caller, op):
    """The control for the test above: with only that scope, the scope check passes."""
    caller = make_caller((op.scope,))
    response = call(client, op, caller.headers)
    assert response.status_code not in (401, 403), response.json
    assert response.status_code < 500, response.json


@pytest.mark.parametrize("op", OPS, ids=IDS)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-real-token", "Basic dXNlcjpwYXNz"],
    ids=["no-token", "unknown-token", "basic"],
)
def test_no_valid_token_is_401(client, op, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = call(client, op, headers)
    assert response.status_code == 401, response.json
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
