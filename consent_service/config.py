"""Configuration in layers (house style 3).

1. :class:`Defaults` below;
2. ``instance/config.py`` if it exists;
3. environment variables: ``DATABASE_URL`` and every ``CONSENT_<KEY>``;
4. the mapping given to :func:`create_app` (tests).

``CONSENT_ENV`` is ``production`` unless set otherwise: a production start without a
configured ``SECRET_KEY`` refuses to start. Settings left ``None`` below are decided from
``ENV`` once the layers are read (:func:`_resolve`): the session cookie is ``Secure`` unless
``ENV`` is development or testing, and the landing page lists the demo organization in
development only.
Webhooks may reach only public addresses unless ``WEBHOOK_ALLOW_PRIVATE_HOSTS`` or
``WEBHOOK_ALLOWED_NETWORKS`` says otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

DEV_SECRET_FILE = "dev_secret_key"  # noqa: S105  (a file name, not a secret)
#: Environments served over plain HTTP on this machine: the session cookie cannot be Secure.
LOCAL_ENVS = frozenset({"development", "testing"})
#: The demo organization's slug (``consent_service.demo.SLUG``), listed on the landing page in
#: development.
DEMO_SLUG = "demo"


class Defaults:
    """Built-in defaults."""

    ENV = "production"
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None  # filled in: SQLite in the instance folder
    #: Statement parameters (people's fields among them) are left out of database errors and of
    #: SQLAlchemy's own log lines.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"hide_parameters": True}
    JSON_SORT_KEYS = False
    #: Public base URL used in receipts (policyUrl) and links.
    BASE_URL = "http://127.0.0.1:5000"
    #: Minutes between scheduled ledger checkpoints and consent-expiry sweeps.
    CHECKPOINT_INTERVAL_MINUTES = 15
    #: How late a checkpoint may be beyond its interval before ``flask audit verify`` takes the
    #: events it lacks for a sign of deleted checkpoints (or of a checkpoint job not running).
    CHECKPOINT_GRACE_MINUTES = 60
    #: Minutes between full verifications of each organization's ledger (the compliance report
    #: states the newest).
    LEDGER_VERIFY_INTERVAL_MINUTES = 1440
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
    #: Rights requests: minutes between deadline sweeps; reminders this many working days before
    #: the due day (to the assigned officer and the PI protection officer); days an unverified
    #: request waits before it ends; the identity code's lifetime, attempts and resends.
    RIGHTS_SWEEP_INTERVAL_MINUTES = 5
    #: How often the retention sweep looks for information whose reason to be kept ended.
    RIGHTS_RETENTION_INTERVAL_MINUTES = 60
    RIGHTS_REMINDER_WORKING_DAYS = (5, 2, 1)
    RIGHTS_UNVERIFIED_DAYS = 30
    RIGHTS_CODE_MINUTES = 10
    RIGHTS_CODE_ATTEMPTS = 5
    RIGHTS_CODE_RESEND_SECONDS = 60
    RIGHTS_CODE_MAX_SENDS = 5
    #: Days an access, copy or transfer package stays downloadable; then its content is deleted.
    RIGHTS_PACKAGE_DAYS = 14
    #: Exports written in the background: where their files go (unset: the instance folder's
    #: exports/), hours a file is kept before it is deleted, seconds between runs of the job
    #: that writes queued exports, minutes between runs of the one that deletes expired files,
    #: and minutes after which an export still running is taken for abandoned by its worker.
    EXPORT_FOLDER = None
    EXPORT_KEEP_HOURS = 72
    EXPORT_POLL_SECONDS = 30
    EXPORT_PURGE_INTERVAL_MINUTES = 60
    EXPORT_ABANDONED_MINUTES = 120
    #: Largest batch of consent acts or decisions in one call.
    API_BATCH_LIMIT = 1000
    #: Largest request body, in bytes: a larger one is answered 413 before it is read.
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    #: How many proxies in front set X-Forwarded-For/-Proto/-Host (0: none are trusted). Behind
    #: one TLS-terminating proxy set 1, so that the service sees HTTPS (OAuth requires it).
    PROXY_COUNT = 0
    #: Dashboard hand-off links (single use).
    DASHBOARD_LINK_MINUTES = 10
    #: A dashboard session without a visit for longer than this is signed out.
    DASHBOARD_IDLE_MINUTES = 30
    #: Signing in with a mailed code: its lifetime, the wrong entries it allows, the seconds
    #: before another may be asked for and how many an address may be sent in an hour.
    DASHBOARD_CODE_MINUTES = 10
    DASHBOARD_CODE_ATTEMPTS = 5
    DASHBOARD_CODE_RESEND_SECONDS = 60
    DASHBOARD_CODE_MAX_SENDS = 5
    #: Sign-in code rows are deleted this long after their last code was sent (they only serve
    #: the resend limits by then), by the ``sign_in_codes`` job every hour.
    DASHBOARD_CODE_KEEP_HOURS = 24
    DASHBOARD_CODE_PURGE_INTERVAL_MINUTES = 60
    #: Flask-Limiter, per client address, on the two sign-in form posts together ("" for none).
    DASHBOARD_SIGN_IN_RATE_LIMIT = "20 per minute;100 per hour"
    #: The officer's console: a console session without a visit for longer than this is
    #: signed out; the sign-in, second-factor and reset posts share this budget per client
    #: address ("" for none).
    CONSOLE_IDLE_MINUTES = 30
    CONSOLE_SIGN_IN_RATE_LIMIT = "20 per minute;100 per hour"
    #: Staff accounts: wrong passwords or codes in a row that lock an account, and for how
    #: long; the shortest password; how long an enrolment link and a reset link work.
    STAFF_LOCKOUT_ATTEMPTS = 5
    STAFF_LOCKOUT_MINUTES = 15
    STAFF_PASSWORD_MIN_LENGTH = 12
    STAFF_ENROL_HOURS = 48
    STAFF_RESET_MINUTES = 30
    #: The signed session cookie (the dashboard's and the console's). Secure: None means "unless ENV is
    #: development or testing"; its lifetime: None means DASHBOARD_IDLE_MINUTES.
    SESSION_COOKIE_SECURE: bool | None = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME: timedelta | int | None = None
    #: Slugs of the organizations the landing page links to; None means the demo organization
    #: in development and none elsewhere (a hosted service would name its customers). From the
    #: environment: CONSENT_PUBLIC_ORGANIZATIONS=demo,acme.
    PUBLIC_ORGANIZATIONS: list[str] | None = None
    #: Webhooks: how long failed deliveries are retried, and the first retry delay.
    WEBHOOK_RETRY_HOURS = 24
    WEBHOOK_FIRST_RETRY_SECONDS = 10
    WEBHOOK_TIMEOUT_SECONDS = 5
    WEBHOOK_POLL_SECONDS = 10
    #: Whether webhooks may reach loopback, private and other non-public addresses. Unset: only
    #: in development (``ENV = "development"``); production and tests reach public addresses only.
    WEBHOOK_ALLOW_PRIVATE_HOSTS: bool | None = None
    #: Non-public networks webhooks may reach all the same, as CIDRs separated by commas
    #: (``"10.20.0.0/16,fd00::/8"``): for company systems on the deployment's private network.
    WEBHOOK_ALLOWED_NETWORKS: str | tuple = ""
    #: What turns a webhook's host name into addresses (None: the system resolver); tests give a
    #: fake (``webhooks.addresses.StaticResolver``).
    WEBHOOK_RESOLVER = None
    #: CA certificates (a PEM file) that webhook endpoints' certificates are verified against;
    #: empty: the certifi bundle, as requests uses.
    WEBHOOK_CA_BUNDLE = ""
    #: "thread": deliver from a background thread right after commit; "off": scheduler only.
    WEBHOOK_DISPATCH = "thread"
    #: Working days for deadlines: "chinese" (State Council notices, with 调休) or "weekends"
    #: (Monday to Friday: tests, deployments outside China).
    HOLIDAY_CALENDAR = "chinese"
    #: PDF records: "weasyprint", or "fake" (stand-in bytes, for tests and demos).
    PDF_RENDERER = "weasyprint"
    #: Mail: "file" (.eml files in MAIL_OUTBOX_DIR, nothing sent), "smtp", or "memory" (tests).
    MAIL_TRANSPORT = "file"
    #: The From of every mail: an address, optionally with a name ("隐私服务 <privacy@example.cn>").
    MAIL_FROM = "consent_service <no-reply@consent.localhost>"
    #: The SMTP relay's host name.
    MAIL_SMTP_HOST = ""
    #: The relay's port; unset: 587 for starttls, 465 for ssl, 25 for none.
    MAIL_SMTP_PORT = None
    #: The SMTP login's user name; unset: no login.
    MAIL_SMTP_USERNAME = ""
    #: The SMTP login's password (taken as text, never logged).
    MAIL_SMTP_PASSWORD = ""
    #: "starttls" (refuses to go on in clear), "ssl" (TLS from the start) or "none" (a local relay).
    MAIL_SMTP_SECURITY = "starttls"
    #: Seconds an SMTP connection may wait for the relay at each step.
    MAIL_SMTP_TIMEOUT_SECONDS = 10
    #: Where the file transport writes; unset: the instance folder's outbox/.
    MAIL_OUTBOX_DIR = None
    #: Hours a mail that could not be sent is retried (backoff from 1 minute to 1 hour), then failed.
    MAIL_RETRY_HOURS = 24
    #: Seconds between runs of the mail delivery job.
    MAIL_POLL_SECONDS = 10


#: Settings taken from the environment as given, never coerced to int or bool.
TEXT_SETTINGS = frozenset({"SECRET_KEY", "MAIL_SMTP_USERNAME", "MAIL_SMTP_PASSWORD"})


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
    _resolve(app)
    _check_secret_key(app)
    _settle_webhook_addresses(app)


def _resolve(app: Flask) -> None:
    """Decide the settings left ``None`` from ``ENV``, and read lists given as text."""
    config = app.config
    is_local = config["ENV"] in LOCAL_ENVS
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = not is_local
    if config["PERMANENT_SESSION_LIFETIME"] is None:
        config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=config["DASHBOARD_IDLE_MINUTES"])
    public = config["PUBLIC_ORGANIZATIONS"]
    if public is None:
        public = [DEMO_SLUG] if config["ENV"] == "development" else []
    elif isinstance(public, str):
        public = [slug.strip() for slug in public.split(",") if slug.strip()]
    config["PUBLIC_ORGANIZATIONS"] = list(public)


def normalize_database_url(uri: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri.removeprefix(prefix)
    return uri


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str | Iterable[Any] | None) -> tuple[Network, ...]:
    """The networks of ``WEBHOOK_ALLOWED_NETWORKS``: CIDRs separated by commas (or a list of
    CIDRs or networks); :class:`ConfigurationError` names the first that is not one."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for item in items:
        if isinstance(item, Network):
            networks.append(item)
            continue
        text = str(item).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text))
        except ValueError as exc:
            raise ConfigurationError(
                f"WEBHOOK_ALLOWED_NETWORKS: {text!r} is not a network in CIDR notation ({exc})"
            ) from None
    return tuple(networks)


def _flag(name: str, value: Any) -> bool:
    """A yes-or-no setting; anything but a plain yes or no refuses to start (a typo must not
    open what the setting guards)."""
    if isinstance(value, bool | int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"", "0", "false", "no", "off"}:
        return False
    raise ConfigurationError(
        f"{name}: {value!r} is neither yes (1, true, yes, on) nor no (0, false, no, off)"
    )


def _settle_webhook_addresses(app: Flask) -> None:
    """Private webhook targets only in development unless said otherwise; the allow-list parsed
    (a wrong CIDR refuses to start)."""
    allow = app.config.get("WEBHOOK_ALLOW_PRIVATE_HOSTS")
    if allow is None:
        allow = app.config["ENV"] == "development"
    app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] = _flag("WEBHOOK_ALLOW_PRIVATE_HOSTS", allow)
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = parse_networks(app.config.get("WEBHOOK_ALLOWED_NETWORKS"))


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
