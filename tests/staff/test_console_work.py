"""The console's work pages: the overview's figures and chart, the queue by due date with
overdue and at-risk requests marked and filtered, a request with its deadline explained; each
needs a signed-in member of the organization with the right permission, in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent_service.rights import service
from tests.factories import grant, make_org, make_purpose, make_subject, publish_policy
from tests.staff.test_console_sign_in import enrol, invite, sign_in


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "marketing")
    publish_policy(org, clock.now())
    return org


@pytest.fixture
def officer(client, org, clock):
    _, path = invite(org, clock)
    enrol(client, path)
    assert sign_in(client).status_code == 303
    return client


def requests_of(org, clock, n=3):
    made = []
    for i in range(n):
        make_subject(org, clock.now(), f"u-{i}", email=f"u{i}@example.cn")
        made.append(
            service.create_request(
                org,
                f"u-{i}",
                "deletion" if i else "access",
                clock.now(),
                identity_verified_by="company",
                client_id="cs_x",
            )  # fmt: skip
        )
    return made


def test_the_queue_lists_open_requests_soonest_due_first(officer, org, clock):
    access, deletion, _ = requests_of(org, clock)
    html = officer.get("/console/shop/requests?lang=en").get_data(as_text=True)
    # deletions are due in 15 working days, the access request in 30 days: deletions first
    assert html.index(deletion.public_id) < html.index(access.public_id)
    assert "Open requests, soonest due first" in html
    zh = officer.get("/console/shop/requests?lang=zh").get_data(as_text=True)
    assert "待处理请求（最早到期的在前）" in zh


def test_overdue_and_at_risk_are_marked_and_filtered(officer, org, clock, db):
    access, deletion, other = requests_of(org, clock)
    deletion.at_risk = True
    db.session.commit()
    clock.at = other.due_at - timedelta(hours=1)  # nearly due; the access request is not
    sign_in(officer)  # weeks later: the session has long been idle
    html = officer.get("/console/shop/requests?urgency=at_risk&lang=en").get_data(as_text=True)
    assert deletion.public_id in html and other.public_id not in html and access.public_id not in html
    clock.at = other.due_at + timedelta(minutes=1)
    sign_in(officer)
    html = officer.get("/console/shop/requests?urgency=overdue&lang=en").get_data(as_text=True)
    assert other.public_id in html and deletion.public_id in html and access.public_id not in html
    assert officer.get("/console/shop/requests?urgency=soon").status_code == 404


def test_a_request_page_explains_its_deadline(officer, org, clock):
    _, deletion, _ = requests_of(org, clock)
    html = officer.get(f"/console/shop/requests/{deletion.public_id}?lang=en").get_data(as_text=True)
    assert "The deadline explained" in html
    assert "15 working days from identity verification" in html
    assert "2026-11-07" in html  # a Saturday passed over
    assert "Days counted</dt><dd>15" in html
    assert officer.get("/console/shop/requests/rr_nothing").status_code == 404


def test_the_overview_counts_and_draws(officer, org, clock):
    requests_of(org, clock)
    grant(org, make_subject(org, clock.now(), "fan"), clock.now(), "marketing")
    html = officer.get("/console/shop/?lang=en").get_data(as_text=True)
    assert "Open requests</dt><dd><a" in html and ">3</a>" in html
    assert "<svg" in html and "Consents per week, last 90 days" in html and "<script" not in html


def test_another_organizations_request_is_not_found_and_nobody_signed_in_is_sent_to_sign_in(
    officer, org, clock, client
):
    other = make_org(clock.now(), "other")
    make_subject(other, clock.now(), "x")
    theirs = service.create_request(other, "x", "access", clock.now(), identity_verified_by="company",
                                    client_id="cs_y")  # fmt: skip
    assert officer.get(f"/console/shop/requests/{theirs.public_id}").status_code == 404
    assert officer.get("/console/other/requests").status_code == 404  # signed in to shop only
    officer.post("/console/sign-out", data={})  # refused without a token: still signed in
    anonymous = officer.application.test_client()
    answer = anonymous.get("/console/shop/requests")
    assert answer.status_code == 302 and "/console/shop/sign-in" in answer.location
