"""Rate-limit keys: per API client when a valid token is presented, else per address."""

from __future__ import annotations

from flask import request
from flask_limiter.util import get_remote_address

from consent_service.api.registry import BY_ENDPOINT
from consent_service.errors import DomainError
from consent_service.oauth.guard import authenticate, bearer_token
from consent_service.oauth.service import hash_secret


def rate_limit_key() -> str:
    """``client:<id>`` for an authenticated caller, ``addr:<ip>`` otherwise."""
    token = bearer_token() if request.blueprint == "api" else None
    if token is not None:
        op = BY_ENDPOINT.get(request.endpoint)
        if op is not None and op.checks_token_itself:
            # It checks its token in its own single query: counted per token, so the limit
            # costs no database round trip there.
            return "token:" + hash_secret(token)[:32]
        try:
            return "client:" + authenticate().client_id
        except DomainError:
            pass
    return "addr:" + (get_remote_address() or "unknown")
