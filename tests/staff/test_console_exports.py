"""The console's exports: the form queues an export (its wrong fields answered 400 beside each),
the list shows progress, size, SHA-256 and expiry, the file is downloaded as it was written,
and asking and downloading are each in the trail; another organization's export is a 404."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from consent_service.audit.models import AuditEntry
from consent_service.exports import jobs
from consent_service.exports.models import ExportJob
from consent_service.records.verify import verify_record
from tests.exports.support import fill_events
from tests.factories import make_org, make_purpose, make_subject
from tests.staff.console_support import console_post, sign_in_as


@pytest.fixture
def shop(db, clock, app, tmp_path):
    app.config["EXPORT_FOLDER"] = str(tmp_path / "exports")
    org = make_org(clock.now(), "shop")
    purpose = make_purpose(org, clock.now(), "marketing")
    person = make_subject(org, clock.now(), "u-1")
    fill_events(db, org, person, purpose, 250, clock.now() - timedelta(hours=2))
    yield org
    app.config["EXPORT_FOLDER"] = None


@pytest.fixture
def officer(client, shop, clock):
    return sign_in_as(client, shop, clock, "officer")


def _entries(db, org, action):
    query = select(AuditEntry).where(AuditEntry.org_id == org.id, AuditEntry.action == action)
    return list(db.session.scalars(query))


def _ask(client, **fields):
    data = {"kind": "consent_events", "format": "csv", "from": "2026-11-01", "to": "2026-11-02"} | fields
    return console_post(client, "/console/shop/exports?lang=en", **data)


def test_the_form_queues_an_export_and_the_list_shows_it(client, db, shop, officer):
    answer = _ask(client)
    assert answer.status_code == 303 and "done=queued" in answer.location
    job = db.session.scalars(select(ExportJob)).one()
    assert (job.kind, job.format, job.status) == ("consent_events", "csv", "queued")
    assert job.requested_by == officer.id
    (entry,) = _entries(db, shop, "console:export.request")
    assert entry.actor == f"staff:{officer.id}" and entry.target == f"export_job:{job.public_id}"
    assert entry.details["kind"] == "consent_events" and entry.details["format"] == "csv"
    assert entry.details["period"] == {"from": "2026-11-01", "to": "2026-11-02"}
    page = client.get("/console/shop/exports?lang=en&done=queued").get_data(as_text=True)
    assert job.public_id in page and "Queued" in page and "Refresh to see their progress" in page
    jobs.run_exports()
    page = client.get("/console/shop/exports?lang=en").get_data(as_text=True)
    assert "Ready" in page and job.sha256 in page and ">250<" in page and "Download" in page


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"from": ""}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-11-03", "to": "2026-11-02"}, "to"),
        ({"kind": "people"}, "kind"),
        ({"format": "xml"}, "format"),
    ],
)
def test_a_wrong_field_is_answered_beside_it(client, db, shop, officer, fields, wrong):
    answer = _ask(client, **fields)
    assert answer.status_code == 400
    assert f'id="{wrong}-error"' in answer.get_data(as_text=True)
    assert db.session.scalars(select(ExportJob)).first() is None
    assert _entries(db, shop, "console:export.request") == []


def test_a_form_without_its_token_is_refused(client, shop, officer):
    data = {"kind": "consent_events", "format": "csv", "from": "2026-11-01", "to": "2026-11-02"}
    answer = client.post("/console/shop/exports", data=data)
    assert answer.status_code == 400


def test_the_download_is_the_file_and_is_recorded(client, db, shop, officer):
    _ask(client)
    jobs.run_exports()
    job = db.session.scalars(select(ExportJob)).one()
    answer = client.get(f"/console/shop/exports/{job.public_id}/download")
    data = answer.get_data()
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{job.file_name}"'
    assert "no-store" in answer.headers["Cache-Control"]
    assert answer.mimetype == "text/csv"
    assert hashlib.sha256(data).hexdigest() == job.sha256
    assert len(list(csv.DictReader(io.StringIO(data.decode())))) == 250
    (entry,) = _entries(db, shop, "console:export.download")
    assert entry.target == f"export_job:{job.public_id}" and entry.details["sha256"] == job.sha256


def test_another_organizations_export_is_not_found(client, db, shop, clock, officer):
    other = make_org(clock.now(), "other")
    sign_in_as(client, other, clock, "officer")
    console_post(client, "/console/other/exports", slug="other", kind="rights_requests", format="jsonl",
                 **{"from": "2026-11-01", "to": "2026-11-02"})  # fmt: skip
    jobs.run_exports()
    theirs = db.session.scalars(select(ExportJob).where(ExportJob.org_id == other.id)).one()
    sign_in_as(client, shop, clock, "officer", email="second@shop.example")
    assert client.get(f"/console/shop/exports/{theirs.public_id}/download").status_code == 404
    assert client.get("/console/shop/exports/ex_nothing/download").status_code == 404
    assert _entries(db, shop, "console:export.download") == []


def test_an_export_not_ready_or_expired_is_not_found(client, db, shop, clock, officer):
    _ask(client)
    job = db.session.scalars(select(ExportJob)).one()
    assert client.get(f"/console/shop/exports/{job.public_id}/download").status_code == 404
    jobs.run_exports()
    job.expires_at = clock.now()  # its time is up (moving the clock would end the session)
    db.session.commit()
    jobs.purge_exports()
    assert client.get(f"/console/shop/exports/{job.public_id}/download").status_code == 404
    page = client.get("/console/shop/exports?lang=en").get_data(as_text=True)
    assert "Deleted (expired)" in page


def test_the_navigation_names_the_exports(client, shop, officer):
    page = client.get("/console/shop/?lang=en").get_data(as_text=True)
    assert 'href="/console/shop/exports?lang=en"' in page


def test_a_compliance_report_is_prepared_in_the_background_and_downloaded(client, db, shop, officer):
    fields = {"from": "2026-11-01", "to": "2026-11-02", "how": "background"}
    answer = console_post(client, "/console/shop/records/report?lang=en", **fields)
    assert answer.status_code == 303 and "/console/shop/exports" in answer.location
    job = db.session.scalars(select(ExportJob)).one()
    assert (job.kind, job.format, job.status, job.requested_by) == (
        "compliance_report",
        "pdf",
        "queued",
        officer.id,
    )
    (entry,) = _entries(db, shop, "console:export.request")
    assert (entry.details["kind"], entry.details["format"]) == ("compliance_report", "pdf")
    assert entry.details["period"] == {"from": "2026-11-01", "to": "2026-11-02"}
    assert jobs.run_exports() == {"done": 1, "failed": 0}
    db.session.commit()
    page = client.get("/console/shop/exports?lang=en").get_data(as_text=True)
    assert "Compliance report" in page and "PDF" in page and "Ready" in page
    download = client.get(f"/console/shop/exports/{job.public_id}/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    check = verify_record(download.get_data())
    assert check.ok and check.kind == "compliance_report", check.messages
    assert b"event_uuid" in check.attachments["consent_events.csv"]


def test_the_report_form_downloads_now_or_says_what_is_wrong(client, db, shop, officer):
    fields = {"from": "2026-11-01", "to": "2026-11-02", "how": "now"}
    now = console_post(client, "/console/shop/records/report?lang=en", **fields)
    assert now.status_code == 200 and now.mimetype == "application/pdf"
    assert verify_record(now.get_data()).ok
    wrong = console_post(
        client, "/console/shop/records/report?lang=en", **{"from": "2026-11-03", "to": "2026-11-02"}
    )
    assert wrong.status_code == 400
    assert 'id="report-to-error">The last day comes before the first.' in wrong.get_data(as_text=True)
    assert not db.session.scalars(select(ExportJob)).all()


def test_the_report_form_needs_its_token(client, db, shop, officer):
    answer = client.post(
        "/console/shop/records/report?lang=en", data={"from": "2026-11-01", "to": "2026-11-02"}
    )
    assert answer.status_code == 400
    assert not db.session.scalars(select(ExportJob)).all()


def test_an_abandoned_export_says_why(client, db, shop, clock, officer):
    answer = _ask(client)
    assert answer.status_code == 303
    job = db.session.scalars(select(ExportJob)).one()
    job.status, job.started_at = "running", clock.now() - timedelta(hours=3)
    assert jobs.purge_exports()["abandoned"] == 1
    db.session.commit()
    page = client.get("/console/shop/exports?lang=en").get_data(as_text=True)
    assert (
        "Failed" in page
        and "Stopped before it was done (the worker was restarted); ask for it again." in page
    )
