"""consent_service: a consent ledger and data-subject rights service (PIPL, GB/T 35273-2020).

Packages:

- ``policies``: organizations, the PI category catalogue, purposes and privacy policy versions;
- ``consent``: subjects, the append-only consent ledger, the decision function, tamper evidence;
- ``receipts``: signed consent receipts (Kantara CR v1.1 + PIPL fields) and their keys;
- ``rights``: data-subject rights (request types and their clauses);
- ``main``: the landing page and health check.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from consent_service import config as config_layers
from consent_service.clock import SystemClock
from consent_service.extensions import db, limiter, migrate


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    config_layers.load(app, config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    app.extensions["clock"] = app.config.get("CLOCK") or SystemClock()
    with app.app_context():
        from consent_service.database import configure_engine

        configure_engine(db.engine)

    from consent_service import api, commands, dashboard, main, models, oauth, policies, receipts  # noqa: F401
    from consent_service.api import openapi  # noqa: F401  (registers routes)
    from consent_service.consent import api as consent_api  # noqa: F401
    from consent_service.oauth import server as oauth_server
    from consent_service.policies import api as policies_api  # noqa: F401
    from consent_service.web import errors
    from consent_service.webhooks import api as webhooks_api  # noqa: F401
    from consent_service.webhooks import delivery

    oauth_server.init_app(app)
    limiter.init_app(app)
    delivery.init_app(app)
    for blueprint in (main.bp, policies.bp, receipts.bp, oauth.bp, api.bp, dashboard.bp):
        app.register_blueprint(blueprint)
    errors.register(app)
    commands.register(app)
    return app
