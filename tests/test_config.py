"""Configuration layers: defaults, instance file, environment, overrides; and the secret key.

A production start without a secret refuses to start; development gets a stable key kept
in the instance folder; PostgreSQL URLs are pointed at psycopg 3; ``CONSENT_*`` variables
are coerced to int or bool where they plainly are one. Apart from the refusal through
:func:`create_app`, the layers are tested with :func:`config.load` on a bare Flask app
whose instance folder is a temporary directory, so nothing is written to the project.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from flask import Flask

from consent_service import config, create_app, demo
from consent_service.config import ConfigurationError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No ``CONSENT_*`` or ``DATABASE_URL`` from the shell running the tests."""
    for name in list(os.environ):
        if name.startswith("CONSENT_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)


def bare_app(instance) -> Flask:
    return Flask("config_test", instance_path=str(instance), instance_relative_config=True)


def load(instance, overrides=None) -> Flask:
    app = bare_app(instance)
    config.load(app, overrides)
    return app


# --- the secret key -----------------------------------------------------------------------------


def test_create_app_in_production_without_secret_refuses():
    overrides = {"ENV": "production", "SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    with pytest.raises(ConfigurationError) as excinfo:
        create_app(overrides)
    assert "CONSENT_SECRET_KEY" in str(excinfo.value)
    assert "production" in str(excinfo.value)


def test_production_is_the_default_environment(tmp_path):
    with pytest.raises(ConfigurationError, match="CONSENT_SECRET_KEY"):
        load(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not (tmp_path / config.DEV_SECRET_FILE).exists()


def test_production_ignores_a_development_key_file(tmp_path):
    (tmp_path / config.DEV_SECRET_FILE).write_text("left over from a local run")
    with pytest.raises(ConfigurationError):
        load(tmp_path, {"ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_with_secret_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_SECRET_KEY", "a-long-random-production-secret")
    app = load(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ENV"] == "production"
    assert app.config["SECRET_KEY"] == "a-long-random-production-secret"
    assert not (tmp_path / config.DEV_SECRET_FILE).exists()


def test_development_gets_a_stable_generated_key(tmp_path):
    overrides = {"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    first = load(tmp_path, overrides).config["SECRET_KEY"]
    second = load(tmp_path, overrides).config["SECRET_KEY"]

    assert first == second
    assert len(first) >= 32
    path = tmp_path / config.DEV_SECRET_FILE
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = load(tmp_path / "elsewhere", overrides).config["SECRET_KEY"]
    assert other != first


def test_development_via_consent_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_ENV", "development")
    app = load(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ENV"] == "development"
    assert app.config["SECRET_KEY"] == (tmp_path / config.DEV_SECRET_FILE).read_text().strip()


def test_testing_without_secret_gets_a_key(tmp_path):
    app = load(tmp_path, {"ENV": "production", "TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"]


def test_configured_secret_is_kept(tmp_path):
    app = load(
        tmp_path, {"ENV": "development", "SECRET_KEY": "given", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert app.config["SECRET_KEY"] == "given"
    assert not (tmp_path / config.DEV_SECRET_FILE).exists()


# --- the session cookie and the landing page ------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "is_secure"),
    [("production", True), ("staging", True), ("development", False), ("testing", False)],
)
def test_the_session_cookie_is_secure_outside_development_and_testing(tmp_path, env, is_secure):
    app = load(tmp_path, {"ENV": env, "SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is is_secure
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_a_configured_cookie_setting_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_SESSION_COOKIE_SECURE", "false")  # TLS ends elsewhere, say
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is False
    app = load(tmp_path, {"ENV": "development", "SESSION_COOKIE_SECURE": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_the_session_lasts_as_long_as_the_idle_time(tmp_path, monkeypatch):
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["DASHBOARD_IDLE_MINUTES"] == 30
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)
    monkeypatch.setenv("CONSENT_DASHBOARD_IDLE_MINUTES", "10")
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=10)
    monkeypatch.setenv("CONSENT_PERMANENT_SESSION_LIFETIME", "900")
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.permanent_session_lifetime == timedelta(seconds=900)


@pytest.mark.parametrize(
    ("env", "listed"), [("development", [demo.SLUG]), ("production", []), ("testing", [])]
)
def test_the_landing_page_lists_the_demo_only_in_development(tmp_path, env, listed):
    app = load(tmp_path, {"ENV": env, "SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PUBLIC_ORGANIZATIONS"] == listed
    assert config.DEMO_SLUG == demo.SLUG


def test_public_organizations_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_PUBLIC_ORGANIZATIONS", "demo, acme,")
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PUBLIC_ORGANIZATIONS"] == ["demo", "acme"]
    app = load(tmp_path, {"ENV": "development", "PUBLIC_ORGANIZATIONS": []})
    assert app.config["PUBLIC_ORGANIZATIONS"] == []


def test_statement_parameters_stay_out_of_errors(tmp_path):
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


# --- the database URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@127.0.0.1:5432/ledger", "postgresql+psycopg://u:p@127.0.0.1:5432/ledger"),
        ("postgresql://u@127.0.0.1/ledger", "postgresql+psycopg://u@127.0.0.1/ledger"),
        ("postgresql+psycopg://u@127.0.0.1/ledger", "postgresql+psycopg://u@127.0.0.1/ledger"),
        ("sqlite:////var/lib/ledger.sqlite3", "sqlite:////var/lib/ledger.sqlite3"),
    ],
)
def test_database_url_from_environment(tmp_path, monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    app = load(tmp_path, {"SECRET_KEY": "s"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected


def test_database_url_override_is_normalized_too(tmp_path):
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "postgres://u@127.0.0.1/x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1/x"


def test_override_beats_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1/from-env")
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    app = load(instance, {"SECRET_KEY": "s"})
    expected = "sqlite:///" + str(instance / "consent_service.sqlite3")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    assert instance.is_dir()


# --- layers and coercion ----------------------------------------------------------------------


def test_defaults(tmp_path):
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ENV"] == "production"
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"
    assert app.config["CHECKPOINT_INTERVAL_MINUTES"] == 15
    assert app.config["REPROMPT_AFTER_REFUSAL_HOURS"] == 48
    assert app.config["GUARDIAN_CONSENT_UNDER_AGE"] == 14


def test_environment_overrides_defaults_with_coercion(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_SECRET_KEY", "s")
    monkeypatch.setenv("CONSENT_CHECKPOINT_INTERVAL_MINUTES", "30")
    monkeypatch.setenv("CONSENT_GUARDIAN_CONSENT_UNDER_AGE", "16")
    monkeypatch.setenv("CONSENT_TESTING", "true")
    monkeypatch.setenv("CONSENT_JSON_SORT_KEYS", "False")
    monkeypatch.setenv("CONSENT_BASE_URL", "https://consent.example")
    app = load(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})

    assert app.config["CHECKPOINT_INTERVAL_MINUTES"] == 30
    assert isinstance(app.config["CHECKPOINT_INTERVAL_MINUTES"], int)
    assert app.config["GUARDIAN_CONSENT_UNDER_AGE"] == 16
    assert app.config["TESTING"] is True
    assert app.config["JSON_SORT_KEYS"] is False
    assert app.config["BASE_URL"] == "https://consent.example"
    assert app.config["EXPIRY_SWEEP_INTERVAL_MINUTES"] == 5  # untouched default


@pytest.mark.parametrize(
    ("raw", "value"),
    [("42", 42), ("-3", -3), ("TRUE", True), ("false", False), ("yes", "yes"), ("1.5", "1.5"), ("", "")],
)
def test_coerce(raw, value):
    assert config._coerce(raw) == value
    assert type(config._coerce(raw)) is type(value)


def test_variables_without_the_prefix_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("BASE_URL", "https://ignored.example")
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"


def test_layer_order(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        'SECRET_KEY = "from-instance"\nBASE_URL = "https://instance.example"\n'
        "REPROMPT_AFTER_REFUSAL_HOURS = 72\nCHECKPOINT_INTERVAL_MINUTES = 60\n"
    )
    monkeypatch.setenv("CONSENT_BASE_URL", "https://env.example")
    monkeypatch.setenv("CONSENT_CHECKPOINT_INTERVAL_MINUTES", "20")
    app = load(tmp_path, {"CHECKPOINT_INTERVAL_MINUTES": 5, "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    assert app.config["SECRET_KEY"] == "from-instance"  # instance file over defaults
    assert app.config["REPROMPT_AFTER_REFUSAL_HOURS"] == 72
    assert app.config["BASE_URL"] == "https://env.example"  # environment over instance file
    assert app.config["CHECKPOINT_INTERVAL_MINUTES"] == 5  # create_app mapping over everything


def test_numeric_secret_key_stays_text(tmp_path, monkeypatch):
    """A secret made only of digits is still a string (it keys HKDF and sessions)."""
    monkeypatch.setenv("CONSENT_SECRET_KEY", "0123456789012345678901234567890123456789")
    app = load(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "0123456789012345678901234567890123456789"


def test_sqlite_connections_are_set_up_for_a_service(tmp_path):
    """Every connection to a SQLite file: foreign keys on, WAL, a busy timeout, and reads
    through a memory map."""
    from sqlalchemy import create_engine

    from consent_service.database import SQLITE_MMAP_BYTES, configure_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'set-up.sqlite3'}")
    configure_engine(engine)
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout", "mmap_size")
            }
    finally:
        engine.dispose()
    assert pragma == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": 10000,
        "mmap_size": SQLITE_MMAP_BYTES,
    }


# --- where webhooks may go ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "allowed"), [(None, False), ("production", False), ("testing", False), ("development", True)]
)
def test_private_webhook_targets_only_in_development_by_default(tmp_path, monkeypatch, env, allowed):
    if env:
        monkeypatch.setenv("CONSENT_ENV", env)
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is allowed
    assert app.config["WEBHOOK_ALLOWED_NETWORKS"] == ()


@pytest.mark.parametrize(
    ("raw", "allowed"), [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False)]
)
def test_production_opts_in_to_private_webhook_targets(tmp_path, monkeypatch, raw, allowed):
    monkeypatch.setenv("CONSENT_WEBHOOK_ALLOW_PRIVATE_HOSTS", raw)
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ENV"] == "production"
    assert app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is allowed


def test_development_can_turn_private_webhook_targets_off(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_ENV", "development")
    monkeypatch.setenv("CONSENT_WEBHOOK_ALLOW_PRIVATE_HOSTS", "false")
    app = load(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is False


def test_an_unclear_private_webhook_setting_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_WEBHOOK_ALLOW_PRIVATE_HOSTS", "sometimes")
    with pytest.raises(ConfigurationError, match="WEBHOOK_ALLOW_PRIVATE_HOSTS"):
        load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_allowed_webhook_networks_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENT_WEBHOOK_ALLOWED_NETWORKS", "10.20.0.0/16, fd00::/8")
    app = load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert [str(n) for n in app.config["WEBHOOK_ALLOWED_NETWORKS"]] == ["10.20.0.0/16", "fd00::/8"]
    assert app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is False


@pytest.mark.parametrize("raw", ["10.20.0.0/33", "10.20.0.1/16", "intranet", "10.20.0.0/16,,fd00::/129"])
def test_a_wrong_allowed_webhook_network_refuses_to_start(tmp_path, monkeypatch, raw):
    monkeypatch.setenv("CONSENT_WEBHOOK_ALLOWED_NETWORKS", raw)
    with pytest.raises(ConfigurationError, match="WEBHOOK_ALLOWED_NETWORKS"):
        load(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
