"""The records page of the console: each compliance record downloads as a signed PDF that
verifies, a wrong period is said beside its field, a request's record from its page."""

from __future__ import annotations

import pytest

from consent_service.extensions import db as _db
from consent_service.records.verify import verify_record
from consent_service.rights import service
from tests.factories import make_org, make_purpose, make_subject, publish_policy
from tests.staff.console_support import sign_in_as


@pytest.fixture
def org(db, clock):
    shop = make_org(clock.now(), "shop")
    make_purpose(shop, clock.now(), "marketing")
    publish_policy(shop, clock.now(), "v1")
    make_subject(shop, clock.now(), "u-1")
    _db.session.commit()
    return shop


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/console/shop/records/processing.pdf", "processing_activities"),
        ("/console/shop/records/policies.pdf", "policy_archive"),
        ("/console/shop/records/report.pdf?from=2026-10-01&to=2026-11-30", "compliance_report"),
    ],
)
def test_an_auditor_downloads_each_record_signed(client, org, clock, path, kind):
    sign_in_as(client, org, clock, "auditor")
    page = client.get("/console/shop/records?lang=en").get_data(as_text=True)
    assert "Record of processing activities" in page and "Compliance report of a period" in page
    answer = client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    check = verify_record(answer.get_data())
    assert check.ok and check.kind == kind and check.org == "shop", check.messages


def test_a_wrong_period_is_said_beside_its_field(client, org, clock):
    sign_in_as(client, org, clock, "officer")
    answer = client.get("/console/shop/records/report.pdf?lang=en&from=2026-12-01&to=2026-11-01")
    assert answer.status_code == 400
    assert 'id="report-to-error">The last day comes before the first.' in answer.get_data(as_text=True)
    answer = client.get("/console/shop/records/report.pdf?lang=en&from=yesterday")
    assert answer.status_code == 400 and "Enter a date, such as 2026-12-01." in answer.get_data(as_text=True)


def test_a_requests_record_from_its_page(client, org, clock):
    request = service.create_request(org, "u-1", "access", clock.now(), identity_verified_by="company",
                                     client_id="cs_x")  # fmt: skip
    _db.session.commit()
    sign_in_as(client, org, clock, "officer")
    page = client.get(f"/console/shop/requests/{request.public_id}?lang=en").get_data(as_text=True)
    assert f"/console/shop/requests/{request.public_id}/record.pdf" in page
    answer = client.get(f"/console/shop/requests/{request.public_id}/record.pdf")
    check = verify_record(answer.get_data())
    assert check.ok and check.kind == "rights_request"
    assert client.get("/console/shop/requests/rr_nope/record.pdf").status_code == 404
