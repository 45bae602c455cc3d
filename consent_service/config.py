"""Configuration in layers (house style 3).

1. :class:`Defaults` below;
2. ``instance/config.py`` if it exists;
3. environment variables: ``DATABASE_URL`` and every ``CONSENT_<KEY>``;
4. the mapping given to :func:`create_app` (tests).

``CONSENT_ENV`` is ``production`` unless set otherwise: a production start without a
configured ``SECRET_KEY`` refuses to start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

DEV_SECRET_FILE = "dev_secret_key"  # noqa: S105  (a file name, not a secret)


class Defaults:
    """Built-in defaults."""

    ENV = "production"
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None  # filled in: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    JSON_SORT_KEYS = False
    #: Public base URL used in receipts (policyUrl) and links.
    BASE_URL = "http://127.0.0.1:5000"
    #: Minutes between scheduled ledger checkpoints and consent-expiry sweeps.
    CHECKPOINT_INTERVAL_MINUTES = 15
    #: How late a checkpoint may be beyond its interval before ``flask audit verify`` takes the
    #: events it lacks for a sign of deleted checkpoints (or of a checkpoint job not running).
    CHECKPOINT_GRACE_MINUTES = 60
    EXPIRY_SWEEP_INTERVAL_MINUTES = 5
    #: GB/T 35273 Annex C.4 b): no re-prompt within this many hours of a refusal.
    REPROMPT_AFTER_REFUSAL_HOURS = 48
    #: PIPL 31: consent for a child under this age comes from a guardian.
    GUARDIAN_CONSENT_UNDER_AGE = 14
    #: OAuth 2.0 access token lifetime.
    TOKEN_LIFETIME_SECONDS = 3600
    #: Flask-Limiter: per client; in memory unless RATELIMIT_STORAGE_URI names Redis.
    API_RATE_LIMIT = "6000 per minute"
    #: The decision route is the companies' hot path and one indexed read: unlimited unless set
    #: (e.g. "60000 per minute"), which also spares it the limiter's per-call cost.
    DECISION_RATE_LIMIT = ""
    RATELIMIT_STORAGE_URI = "memory://"
    #: Retry-After is set on 429 answers only (by the error handler), not on every answer.
    RATELIMIT_HEADERS_ENABLED = False
    #: Read-only hot paths use their own autocommit connection (off: the request's session).
    READ_AUTOCOMMIT = True
    #: Largest batch of consent acts or decisions in one call.
    API_BATCH_LIMIT = 1000
    #: Dashboard hand-off links (single use).
    DASHBOARD_LINK_MINUTES = 10
    #: Webhooks: how long failed deliveries are retried, and the first retry delay.
    WEBHOOK_RETRY_HOURS = 24
    WEBHOOK_FIRST_RETRY_SECONDS = 10
    WEBHOOK_TIMEOUT_SECONDS = 5
    WEBHOOK_POLL_SECONDS = 10
    #: Whether webhook URLs may point at loopback or private addresses (turn off when hosted).
    WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    #: "thread": deliver from a background thread right after commit; "off": scheduler only.
    WEBHOOK_DISPATCH = "thread"


#: Settings taken from the environment as given, never coerced to int or bool.
TEXT_SETTINGS = frozenset({"SECRET_KEY"})


class ConfigurationError(RuntimeError):
    """The application cannot start with this configuration."""


def _coerce(value: str) -> Any:
    """Turn an environment string into an int or bool where it plainly is one."""
    if value.lower() in {"true", "false"}:
        return value.lower() == "true"
    try:
        return int(value)
    except ValueError:
        return value


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from the four layers and check it."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for name, value in os.environ.items():
        if name.startswith("CONSENT_"):
            key = name.removeprefix("CONSENT_")
            # A secret is text even when it is all digits (it keys HKDF and the sessions).
            app.config[key] = value if key in TEXT_SETTINGS else _coerce(value)
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if overrides:
        app.config.update(overrides)

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        uri = "sqlite:///" + str(Path(app.instance_path) / "consent_service.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(uri)
    _check_secret_key(app)


def normalize_database_url(uri: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri.removeprefix(prefix)
    return uri


def _check_secret_key(app: Flask) -> None:
    """Refuse a production start without a secret; give development a stable one."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV"] == "production" and not app.config.get("TESTING"):
        raise ConfigurationError(
            "SECRET_KEY is not configured. Set the CONSENT_SECRET_KEY environment variable "
            "(or SECRET_KEY in instance/config.py) to a long random value before starting "
            "in production, or set CONSENT_ENV=development for a local run."
        )
    path = Path(app.instance_path) / DEV_SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    app.config["SECRET_KEY"] = path.read_text().strip()
