"""Personal information stays out of log lines.

Database errors are logged by SQLSTATE, constraint and table, requests by their route's
pattern; and a filter on every logger of the package (and the servers') redacts email
addresses and phone numbers from whatever slips through. Both databases: PostgreSQL's
``DETAIL`` carries the values (``Key (org_id, external_id)=(1, alice@example.com) ...``).
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError

from consent_service.consent import subjects
from consent_service.consent.models import Subject
from consent_service.extensions import db as _db
from consent_service.oauth import service as oauth
from consent_service.web.redaction import PersonalDataFilter, redact
from tests.api_support import issue_token
from tests.conftest import IS_POSTGRES
from tests.factories import make_org

EMAIL = "alice@example.com"
PHONE = "+86 138 0000 0000"


@pytest.fixture
def caller(client, db, clock):
    """An organization and the bearer headers of a client allowed to write its subjects."""
    org = make_org(clock.now())
    issued = oauth.create_client(org, "backend", ["subjects:write"], clock.now())
    db.session.commit()
    token = issue_token(client, issued.client.client_id, issued.client_secret)
    return org, {"Authorization": f"Bearer {token}"}


# --- database errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("external_id", [EMAIL, "opaque-7f3a9c"])
def test_a_unique_violation_logs_no_value(client, caller, caplog, monkeypatch, external_id):
    """A request that did not see a row another one committed inserts it again: 409, and the
    log line names the constraint, not the value (which no filter could recognize when it is
    an opaque id)."""
    org, headers = caller
    assert client.put(f"/api/v1/subjects/{external_id}", json={}, headers=headers).status_code == 201
    monkeypatch.setattr(subjects, "find_subject", lambda org, external_id: None)

    with caplog.at_level(logging.WARNING):
        response = client.put(f"/api/v1/subjects/{external_id}", json={"phone": PHONE}, headers=headers)

    assert response.status_code == 409
    (record,) = [r for r in caplog.records if r.getMessage().startswith("unique violation")]
    message = record.getMessage()
    assert message.startswith("unique violation on PUT /api/v1/subjects/<external_id>: ")
    if IS_POSTGRES:
        assert message.endswith("sqlstate=23505 constraint=uq_subject_org_id_external_id table=subject")
    else:
        assert message.endswith("UNIQUE constraint failed: subject.org_id, subject.external_id")
    assert external_id not in caplog.text
    assert PHONE not in caplog.text


def test_an_unexpected_database_error_logs_no_value(app, db, clock, caplog):
    """Any other database error (here NOT NULL, whose PostgreSQL DETAIL is the whole row) is
    logged with its frames and its SQLSTATE, never its text; parameters are hidden anyway."""
    org = make_org(clock.now())
    row = Subject(
        org_id=org.id,
        external_id=None,
        email=EMAIL,
        phone=PHONE,
        guardian_name="Guardian Opaque-Name",
        created_at=clock.now(),
        updated_at=clock.now(),
        chain_seq=0,
    )
    with pytest.raises(IntegrityError) as caught, db.session.begin_nested():
        db.session.add(row)
        db.session.flush()
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(caught.value)

    with caplog.at_level(logging.WARNING), app.test_request_context("/api/v1/subjects/u-1", method="PUT"):
        response = app.handle_user_exception(caught.value)

    assert response.status_code == 500
    (record,) = caplog.records
    text = caplog.text
    assert record.getMessage().startswith("unhandled database error on PUT /api/v1/subjects/<external_id>")
    assert "Traceback (most recent call last):" in text
    if IS_POSTGRES:
        assert "IntegrityError (sqlstate=23502 table=subject column=external_id)" in text
    else:
        described = "SQLITE_CONSTRAINT_NOTNULL: NOT NULL constraint failed: subject.external_id"
        assert f"IntegrityError ({described})" in text
    for value in (EMAIL, PHONE, "Opaque-Name"):
        assert value not in text


# --- the filter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "logger",
    ["consent_service", "consent_service.web.errors", "consent_service.webhooks.delivery", "werkzeug"],
)
def test_the_filter_redacts_every_record(app, caplog, logger):
    with caplog.at_level(logging.INFO):
        logging.getLogger(logger).warning("wrote to %s, called %s", EMAIL, PHONE)
        try:
            raise ValueError(f"no person with {EMAIL} or 13800000000")
        except ValueError:
            logging.getLogger(logger).exception("lookup of %s failed", EMAIL)

    assert EMAIL not in caplog.text and PHONE not in caplog.text and "13800000000" not in caplog.text
    first, second = caplog.records
    assert first.getMessage() == "wrote to [email], called [phone]"
    assert second.getMessage() == "lookup of [email] failed"
    assert second.exc_info is None  # the exception object carried the values
    assert "ValueError: no person with [email] or [phone]" in second.exc_text
    assert "Traceback (most recent call last)" in caplog.text


def test_a_record_without_personal_data_is_left_as_it_is(app, caplog):
    with caplog.at_level(logging.INFO):
        try:
            raise KeyError("purpose")
        except KeyError:
            logging.getLogger("consent_service.web.errors").exception("purpose %s of org %d", "ads", 12)
    (record,) = caplog.records
    assert (record.msg, record.args) == ("purpose %s of org %d", ("ads", 12))
    assert record.exc_info is not None


def test_every_logger_of_the_package_has_the_filter(app):
    loggers = [app.logger, logging.getLogger("werkzeug"), logging.getLogger("gunicorn.access")]
    for name, logger in logging.Logger.manager.loggerDict.items():
        if name.startswith("consent_service.") and isinstance(logger, logging.Logger):
            loggers.append(logger)
    assert len(loggers) > 5
    for logger in loggers:
        assert sum(isinstance(f, PersonalDataFilter) for f in logger.filters) == 1, logger.name


@pytest.mark.parametrize(
    "text",
    [
        EMAIL,
        "li.wei+orders@mail.example.com.cn",
        PHONE,
        "+86 21 5555 0100",
        "+86 555 0100",
        "0086 13800000000",
        "13800000000",
        "138-0000-0000",
        "010-12345678",
        "(0755) 1234567",
        "+1 (202) 555-0123",
        "202-555-0123",
    ],
)
def test_redact_finds_email_and_phone_numbers(text):
    redacted = redact(f"value [{text}] end")
    assert redacted in ("value [[email]] end", "value [[phone]] end")


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-02T02:00:00+00:00",
        "2026-11-02 10:00:00",
        "0190f3c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f",
        "sqlstate=23505",
        "127.0.0.1:5432",
        "subject 1234567",
        "1793584800",
        "1793584800123",
        "0.0012345678",
        "GB/T 35273-2020",
        "checkpoint #42 for demo: 1000 chains",
    ],
)
def test_redact_leaves_other_values(text):
    assert redact(text) == text


# --- reprs --------------------------------------------------------------------------------------


#: Text columns a repr may show: an organization's slug and a purpose's code name no person.
#: Columns a repr shows on purpose: identifiers and codes, never personal data.
SHOWN_IN_REPR = {
    ("Organization", "slug"),
    ("Purpose", "code"),
    ("MailMessage", "public_id"),
    ("MailMessage", "kind"),
    ("MailMessage", "status"),
    ("RightsRequest", "public_id"),
    ("RightsRequest", "type"),
    ("RightsRequest", "status"),
    ("DataSystem", "public_id"),
    ("RightsTask", "public_id"),
    ("RightsTask", "action"),
    ("RightsTask", "status"),
}


def test_no_model_repr_shows_its_text_columns():
    """Every model's repr, with every other text column holding an email address: none shows
    it (Subject's is ``<Subject id org=...>``; most models keep SQLAlchemy's)."""
    for mapper in _db.Model.registry.mappers:
        instance = mapper.class_()
        for column in mapper.columns:
            shown = (mapper.class_.__name__, column.key) in SHOWN_IN_REPR
            if isinstance(column.type, String) and column.key in mapper.attrs and not shown:
                setattr(instance, column.key, EMAIL)
        assert EMAIL not in repr(instance), mapper.class_.__name__
