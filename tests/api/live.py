"""Helpers for tests that drive an application which commits for real.

The session ``app`` fixture runs every test inside a rolled-back transaction; the end-to-end,
webhook-receiver and schemathesis tests cannot: a real HTTP server, a dispatcher thread or
hundreds of generated requests each commit on their own connection. Each of those tests
builds its own application on its own SQLite file (whatever ``DATABASE_URL`` says), migrates
it, and seeds one organization with purposes, a published policy and a client.

Also here: :class:`LiveServer`, the application served by werkzeug on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from consent_service import create_app
from consent_service.clock import FixedClock
from consent_service.extensions import db
from consent_service.oauth import service as oauth
from consent_service.oauth.scopes import SCOPES
from consent_service.organizations import service as organizations
from tests.conftest import T0, public_resolver
from tests.factories import (
    make_contract_purpose,
    make_org,
    make_purpose,
    make_sensitive_purpose,
    publish_policy,
)


def make_live_app(folder: Path, **overrides: Any) -> Flask:
    """A migrated application on ``folder/live.sqlite3`` with a fixed clock at T0."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "TESTING": True,
        "ENV": "testing",
        "SECRET_KEY": "live-test-secret-key",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(folder / "live.sqlite3"),
        "CLOCK": FixedClock(T0),
        "BASE_URL": "http://127.0.0.1",
        "WEBHOOK_DISPATCH": "off",
        "WEBHOOK_RESOLVER": public_resolver(),
    } | overrides
    app = create_app(config)
    app.instance_path = str(folder / "instance")
    with app.app_context():
        upgrade()
        organizations.load_catalogue()
        db.session.commit()
        db.session.remove()
    return app


def dispose(app: Flask) -> None:
    """Stop the application's webhook dispatcher and close every database connection it holds
    (the session's engine and any other, such as the decision hot path's autocommit engine)."""
    dispatcher = app.extensions.get("webhook_dispatcher")
    if dispatcher is not None:
        dispatcher.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        for extension in app.extensions.values():
            if isinstance(extension, Engine):
                extension.dispose()


@dataclass(frozen=True)
class Tenant:
    """An organization of a live application and an OAuth client of it."""

    slug: str
    client_id: str
    client_secret: str


def make_tenant(app: Flask, scopes: tuple[str, ...] = SCOPES, slug: str = "live-shop") -> Tenant:
    """An organization with purposes ``marketing``, ``face`` (separate consent) and ``orders``
    (contract), policy ``v1`` published, and a client holding ``scopes``; all committed."""
    with app.app_context():
        now = app.extensions["clock"].now()
        org = make_org(now, slug)
        make_purpose(org, now, "marketing")
        make_sensitive_purpose(org, now, "face")
        make_contract_purpose(org, now, "orders")
        publish_policy(org, now, "v1")
        issued = oauth.create_client(org, "backend", list(scopes), now)
        tenant = Tenant(org.slug, issued.client.client_id, issued.client_secret)
        db.session.commit()
        db.session.remove()
    return tenant


class LiveServer:
    """``app`` served by werkzeug on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
        assert not self.thread.is_alive(), "the live server did not stop"


def bearer_headers(client: FlaskClient, tenant: Tenant, scope: str | None = None) -> dict[str, str]:
    """Fetch a token for ``tenant`` through ``/oauth/token`` (client_secret_basic)."""
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = client.post("/oauth/token", data=data, auth=(tenant.client_id, tenant.client_secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": "Bearer " + response.json["access_token"]}
