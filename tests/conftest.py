"""Fixtures: one migrated database per run, each test inside a transaction rolled back.

``DATABASE_URL`` selects PostgreSQL; otherwise a SQLite file in a temporary folder. The
clock is fixed; any attempt to reach a host other than this machine, or to ask the system's
resolver about a name other than ``localhost``, fails the test: webhook host names are resolved
by a fake (``PUBLIC_RESOLVER``) that tests replace in ``WEBHOOK_RESOLVER``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import text
from sqlalchemy.orm import scoped_session, sessionmaker

from consent_service import create_app
from consent_service.clock import FixedClock
from consent_service.extensions import db as _db
from consent_service.extensions import limiter
from consent_service.organizations import service as organizations
from consent_service.webhooks.addresses import StaticResolver

pytest_plugins = ["tests.api_support", "tests.cli_support"]

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday
IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
#: A public address (example.com's) that every webhook host name of the tests resolves to,
#: unless a test says otherwise; nothing ever connects to it (see ``_no_outside_network``).
PUBLIC_ADDRESS = "93.184.215.14"


def public_resolver() -> StaticResolver:
    """A fake resolver that answers ``PUBLIC_ADDRESS`` for every name."""
    return StaticResolver(default=[PUBLIC_ADDRESS])


def _is_local_name(host: object) -> bool:
    """Whether asking the resolver about ``host`` stays on this machine."""
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch):
    """Fail any test that connects anywhere but this machine."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach {host}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not _is_local_name(host):
            raise RuntimeError(f"test tried to resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if IS_POSTGRES:
        return os.environ["DATABASE_URL"]
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application on a freshly migrated database."""
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CLOCK": FixedClock(T0),
            "BASE_URL": "https://consent.test",
            "WEBHOOK_DISPATCH": "off",
            "MAIL_TRANSPORT": "memory",
            "WEBHOOK_RESOLVER": public_resolver(),
            # The decision hot path reads in the test's transaction, which is rolled back.
            "READ_AUTOCOMMIT": False,
        }
    )
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        if IS_POSTGRES:
            with _db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        organizations.load_catalogue()
        _db.session.commit()
        _db.session.remove()
    yield app
    with app.app_context():
        _db.engine.dispose()
        if "read_engine" in app.extensions:
            app.extensions["read_engine"].dispose()


@pytest.fixture
def clock(app):
    """The application's fixed clock, set back to T0 for each test."""
    app.extensions["clock"].at = T0
    return app.extensions["clock"]


@pytest.fixture
def db(app, clock):
    """A database session whose work is rolled back after the test (commits are savepoints)."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        # A plain Session: Flask-SQLAlchemy's own picks the engine per model and would
        # ignore the connection that holds the test's transaction.
        _db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def cli(app, db):
    return app.test_cli_runner()


@pytest.fixture
def production_app(app, db, database_url):
    """A second application configured as in production (``ENV`` production, a secret given,
    ``TESTING`` off) on the same database, seeing the test's transaction and fixed clock."""
    production = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "a-production-like-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CLOCK": app.extensions["clock"],
            "BASE_URL": "https://consent.test",
            "WEBHOOK_DISPATCH": "off",
            "READ_AUTOCOMMIT": False,
        }
    )
    try:
        yield production
    finally:
        limiter.init_app(app)  # the session's application back on its own limiter storage
        with production.app_context():
            _db.engine.dispose()
