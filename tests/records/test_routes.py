"""Where records are downloaded: the API (scope ``records:read``, ``application/pdf``), the
person's dashboard (their own only), and ``flask records verify`` with its exit codes."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from sqlalchemy import select

from consent_service.dashboard.service import create_link
from consent_service.receipts import keys
from consent_service.receipts.models import ConsentReceipt
from consent_service.records.verify import attachments, verify_record
from tests.factories import grant, make_subject


def test_the_api_answers_pdf_under_records_read(client, make_caller, db, clock, app):
    caller = make_caller(("records:read",))
    person = make_subject(caller.org, clock.now(), "u-1")
    grant(caller.org, person, clock.now(), "marketing")
    (receipt,) = db.session.scalars(select(ConsentReceipt)).all()
    db.session.commit()
    for path, kind in (("/api/v1/subjects/u-1/record.pdf", "consent-record"),
                       (f"/api/v1/receipts/{receipt.receipt_id}.pdf", "consent-receipt")):  # fmt: skip
        answer = client.get(path, headers=caller.headers)
        assert answer.status_code == 200 and answer.mimetype == "application/pdf"
        with app.test_request_context():
            result = verify_record(answer.data)
        assert result.ok and result.kind == kind, result.messages
    missing = client.get("/api/v1/subjects/nobody/record.pdf", headers=caller.headers)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_the_api_refuses_another_scope(client, make_caller, db, clock):
    caller = make_caller(("consents:read",))
    make_subject(caller.org, clock.now(), "u-1")
    db.session.commit()
    answer = client.get("/api/v1/subjects/u-1/record.pdf", headers=caller.headers)
    assert answer.status_code == 403 and answer.mimetype == "application/problem+json"


def test_the_document_names_pdf(client):
    document = client.get("/api/v1/openapi.json").get_json()
    get = document["paths"]["/api/v1/subjects/{external_id}/record.pdf"]["get"]
    assert "application/pdf" in get["responses"]["200"]["content"]
    assert get["x-scope"] == "records:read"


def sign_in(client, org, person, clock):
    url, _ = create_link(org, person, clock.now())
    assert client.get(urlsplit(url).path).status_code == 302


def test_the_dashboard_serves_the_persons_own_records(client, make_caller, db, clock, app):
    org = make_caller().org
    me, other = make_subject(org, clock.now(), "u-1"), make_subject(org, clock.now(), "u-2")
    grant(org, me, clock.now(), "marketing")
    grant(org, other, clock.now(), "marketing")
    mine, theirs = db.session.scalars(select(ConsentReceipt).order_by(ConsentReceipt.id)).all()
    db.session.commit()
    sign_in(client, org, me, clock)
    record = client.get("/dashboard/record.pdf")
    assert record.status_code == 200 and record.mimetype == "application/pdf"
    data = json.loads(attachments(record.data)["record.json"])["data"]
    assert data["subject"] == "u-1" and [e["receipt_id"] for e in data["events"]] == [mine.receipt_id]
    own = client.get(f"/dashboard/receipts/{mine.receipt_id}.pdf")
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    assert client.get(f"/dashboard/receipts/{theirs.receipt_id}.pdf").status_code == 404
    history = client.get("/dashboard/history?lang=en").get_data(as_text=True)
    assert f"/dashboard/receipts/{mine.receipt_id}.pdf" in history and "/dashboard/record.pdf" in history
    assert "/dashboard/policies.pdf" in history
    archive = client.get("/dashboard/policies.pdf")
    assert archive.status_code == 200
    assert json.loads(attachments(archive.data)["record.json"])["kind"] == "policy_archive"


def test_the_cli_verifies_and_refuses(cli, client, make_caller, db, clock, app, tmp_path):
    caller = make_caller(("records:read",))
    make_subject(caller.org, clock.now(), "u-1")
    db.session.commit()
    pdf = client.get("/api/v1/subjects/u-1/record.pdf", headers=caller.headers).data
    (tmp_path / "record.pdf").write_bytes(pdf)
    with app.app_context():
        (tmp_path / "jwks.json").write_text(json.dumps(keys.jwks()))
    (tmp_path / "empty.json").write_text('{"keys": []}')
    ok = cli.invoke(args=["records", "verify", str(tmp_path / "record.pdf")])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"valid: consent-record of {caller.org.slug}, data SHA-256 ")
    pinned = cli.invoke(
        args=["records", "verify", str(tmp_path / "record.pdf"), "--jwks", str(tmp_path / "jwks.json")]
    )
    assert pinned.exit_code == 0, pinned.output
    refused = cli.invoke(
        args=["records", "verify", str(tmp_path / "record.pdf"), "--jwks", str(tmp_path / "empty.json")]
    )
    assert refused.exit_code == 1
    assert "invalid: the signature (record.jws) is not valid" in refused.output
    (tmp_path / "other.pdf").write_bytes(b"%PDF-1.7 nothing")
    broken = cli.invoke(
        args=["records", "verify", str(tmp_path / "other.pdf"), "--jwks", str(tmp_path / "empty.json")]
    )
    assert broken.exit_code == 1 and "not a readable PDF" in broken.output
