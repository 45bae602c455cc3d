"""Rate-limit keys: per API client when a valid token is presented, else per address."""

from __future__ import annotations

from flask import request
from flask_limiter.util import get_remote_address

from consent_service.errors import DomainError
from consent_service.oauth.guard import authenticate, bearer_token


def rate_limit_key() -> str:
    """``client:<id>`` for an authenticated caller, ``addr:<ip>`` otherwise."""
    if request.blueprint == "api" and bearer_token() is not None:
        try:
            return "client:" + authenticate().client_id
        except DomainError:
            pass
    return "addr:" + (get_remote_address() or "unknown")
