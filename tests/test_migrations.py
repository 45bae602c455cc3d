"""Migrations are code (house style 14): they produce exactly the models' schema.

The session's database was built by ``flask db upgrade`` alone (see conftest), on SQLite
or on PostgreSQL as ``DATABASE_URL`` says; here it is compared with the models' metadata.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from consent_service import create_app
from consent_service.extensions import db
from tests.conftest import T0
from tests.factories import make_org


def test_migrations_match_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_every_model_table_exists(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_delivery_errors_written_before_0009_are_replaced_by_fixed_reasons(tmp_path):
    """Revision 0009 gives old rows the reason their error text shows and drops the text."""
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "migration-test",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "old.sqlite3"),
            "WEBHOOK_DISPATCH": "off",
        }
    )
    old_errors = {
        "whd_1": (500, "HTTP 500"),
        "whd_2": (None, "endpoint deleted"),
        "whd_3": (
            None,
            "ConnectionError: HTTPConnectionPool(host='10.0.0.5', port=6379): [Errno 111] Connection refused",
        ),
        "whd_4": (None, "ConnectTimeout: HTTPConnectionPool(host='10.0.0.9', port=22): timed out"),
        "whd_5": (None, "SSLError: certificate verify failed: self-signed certificate"),
        "whd_6": (None, "ConnectionError: Failed to resolve 'db.internal' ([Errno -2] Name or service"),
        "whd_7": (None, "ConnectionError: ('Connection aborted.', RemoteDisconnected('closed'))"),
        "whd_8": (None, None),
    }
    with app.app_context():
        upgrade(revision="0006")
        org = make_org(T0)  # the organization's table is as it was at 0006
        db.session.flush()
        db.session.execute(
            text(
                "INSERT INTO webhook_endpoint (public_id, org_id, url, events, secret_encrypted, created_at)"
                " VALUES ('wh_old', :org, 'https://hooks.example/in', '[\"*\"]', 'x', '2026-01-01 00:00:00')"
            ),
            {"org": org.id},
        )
        for public_id, (status, error) in old_errors.items():
            db.session.execute(
                text(
                    "INSERT INTO webhook_delivery (public_id, endpoint_id, org_id, event_id, event_type,"
                    " ordering_key, payload, status, attempts, next_attempt_at, last_status_code,"
                    " last_error, created_at) VALUES (:id, (SELECT id FROM webhook_endpoint), :org, 'evt',"
                    " 'consent.granted', 'u', '{}',"
                    " 'pending', 1, '2026-01-01 00:00:00', :status, :error, '2026-01-01 00:00:00')"
                ),
                {"id": public_id, "org": org.id, "status": status, "error": error},
            )
        db.session.commit()
        upgrade()
        rows = dict(
            (row[0], (row[1], row[2]))
            for row in db.session.execute(
                text("SELECT public_id, last_reason, last_error FROM webhook_delivery")
            )
        )
        db.session.remove()
        db.engine.dispose()
    assert rows == {
        "whd_1": ("http_error", "HTTP 500"),
        "whd_2": ("endpoint_deleted", "endpoint deleted"),
        "whd_3": ("connection_refused", "connection refused"),
        "whd_4": ("timeout", "timed out"),
        "whd_5": ("tls_error", "TLS handshake or certificate verification failed"),
        "whd_6": ("dns_failure", "host name did not resolve"),
        "whd_7": ("connection_failed", "connection failed"),
        "whd_8": (None, None),
    }


def test_the_erasure_migration_goes_down_and_up_again(tmp_path):
    """Revision 0014 down to 0011 and up again leaves exactly the models' schema; going down
    drops the receipts whose tokens were erased (their tokens cannot come back)."""
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "migration-test",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "erasure.sqlite3"),
            "WEBHOOK_DISPATCH": "off",
        }
    )
    with app.app_context():
        upgrade()
        downgrade(revision="0011")
        inspector = inspect(db.engine)
        assert "subject_erasure" not in inspector.get_table_names()
        assert "erased_at" not in {c["name"] for c in inspector.get_columns("subject")}
        receipt = {c["name"]: c for c in inspector.get_columns("consent_receipt")}
        assert "jws_sha256" not in receipt and not receipt["jws"]["nullable"]
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.session.remove()
        db.engine.dispose()
    assert diff == []
