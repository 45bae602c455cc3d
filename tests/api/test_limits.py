"""Rate limits: the decision route only when configured; limits shared through Redis."""

from __future__ import annotations

import socket

import pytest

from consent_service import create_app
from consent_service.extensions import db, limiter


@pytest.fixture
def decision_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "DECISION_RATE_LIMIT", "2 per minute")
    limiter.reset()
    yield
    limiter.reset()


def test_decision_route_is_unlimited_by_default(client, api):
    path = "/api/v1/subjects/nobody/decisions/marketing"
    assert all(client.get(path, headers=api.headers).status_code == 200 for _ in range(5))


def test_decision_route_limit_when_configured(client, api, decision_limit):
    path = "/api/v1/subjects/nobody/decisions/marketing"
    assert [client.get(path, headers=api.headers).status_code for _ in range(3)] == [200, 200, 429]
    response = client.get(path, headers=api.headers)
    assert response.content_type == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_limits_are_shared_through_redis(tmp_path, app):
    """Two app instances (two processes in production) share one budget per client."""
    import redis

    store = redis.Redis(host="127.0.0.1", port=6379, db=15)
    store.flushdb()
    config = {
        "TESTING": True,
        "ENV": "testing",
        "SECRET_KEY": "k",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        "API_RATE_LIMIT": "3 per minute",
        "WEBHOOK_DISPATCH": "off",
    }
    first, second = create_app(config), create_app(config)
    with first.app_context():
        db.create_all()
    try:
        headers = {"Authorization": "Bearer unknown-token"}  # counted per address, then 401
        answers = []
        for instance in (first, first, second, second):
            answers.append(instance.test_client().get("/api/v1/purposes", headers=headers).status_code)
        assert answers == [401, 401, 401, 429]
        assert store.keys("*"), "the counters live in Redis"
    finally:
        store.flushdb()
        store.close()
        limiter.init_app(app)  # the session's app back on its in-memory storage
        for instance in (first, second):
            with instance.app_context():
                db.engine.dispose()
