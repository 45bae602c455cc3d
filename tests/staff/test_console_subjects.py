"""The console's people pages: a search by external id (exactly, or its beginning) and by
address (case-insensitively, exactly), capped with a message; a person's state per purpose,
history with receipt ids and rights requests; an erased person as their pseudonym; the address
masked; in both languages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consent_service.consent.erasure import erase_subject
from consent_service.console import subject_work
from consent_service.console.subject_work import masked_email
from consent_service.receipts.models import ConsentReceipt
from consent_service.rights import service
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy
from tests.staff.console_support import sign_in_as


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "profiling")
    publish_policy(org, clock.now())
    return org


@pytest.fixture
def officer(client, org, clock):
    sign_in_as(client, org, clock, "officer")
    return client


def test_the_address_is_masked_but_for_its_domain(app):
    assert masked_email("lei.li@example.com") == "l***@example.com"
    assert masked_email(None) is None


def test_a_search_by_external_id_finds_the_exact_one_first_then_by_its_beginning(officer, org, clock, db):
    for external_id in ("u-10", "u-1", "u-2", "x-1"):
        make_subject(org, clock.now(), external_id, email=f"{external_id}@example.cn")
    db.session.commit()
    html = officer.get("/console/shop/subjects?q=u-1&lang=en").get_data(as_text=True)
    assert html.index(">u-1<") < html.index(">u-10<")
    assert "u-2" not in html and "x-1" not in html
    assert "u***@example.cn" in html and "u-1@example.cn" not in html
    assert "Nobody matches" in officer.get("/console/shop/subjects?q=nobody&lang=en").get_data(as_text=True)
    # a LIKE wildcard is a character like any other
    assert "u-10" not in officer.get("/console/shop/subjects?q=u_&lang=en").get_data(as_text=True)


def test_a_search_by_address_is_exact_and_ignores_case(officer, org, clock, db):
    make_subject(org, clock.now(), "u-1", email="Lei.Li@Example.com")
    make_subject(org, clock.now(), "u-2", email="lei.li@example.com.cn")
    db.session.commit()
    html = officer.get("/console/shop/subjects?q=lei.li@example.COM&lang=en").get_data(as_text=True)
    assert ">u-1<" in html and "u-2" not in html
    assert "L***@Example.com" in html


def test_another_organizations_people_are_not_found(officer, org, clock, db):
    other = make_org(clock.now(), "other")
    make_subject(other, clock.now(), "u-1", email="same@example.cn")
    db.session.commit()
    html = officer.get("/console/shop/subjects?q=u-1&lang=en").get_data(as_text=True)
    assert "Nobody matches" in html
    assert officer.get("/console/shop/subjects/u-1?lang=en").status_code == 404


def test_a_search_with_many_matches_is_capped_with_a_message(officer, org, clock, db, monkeypatch):
    monkeypatch.setattr(subject_work, "SEARCH_LIMIT", 2)
    for i in range(3):
        make_subject(org, clock.now(), f"u-{i}")
    db.session.commit()
    html = officer.get("/console/shop/subjects?q=u-&lang=en").get_data(as_text=True)
    assert "More than 2 people match" in html
    assert html.count("/console/shop/subjects/u-") == 2


def test_the_search_page_in_both_languages(officer, org):
    en = officer.get("/console/shop/subjects?lang=en").get_data(as_text=True)
    assert "External id or email address" in en
    zh = officer.get("/console/shop/subjects?lang=zh")
    assert zh.status_code == 200 and "外部标识或电子邮件地址" in zh.get_data(as_text=True)


def test_a_person_page_shows_state_history_receipts_and_requests(officer, org, clock, db):
    person = make_subject(org, clock.now(), "u-1", email="lei@example.cn")
    grant(org, person, clock.now(), "marketing")
    act(org, person, clock.now(), "withdraw", "marketing")
    grant(org, person, clock.now(), "profiling")
    request = service.create_request(
        org, "u-1", "access", clock.now(), identity_verified_by="company", client_id="cs_x"
    )
    db.session.commit()
    receipt_ids = db.session.scalars(
        select(ConsentReceipt.receipt_id).where(ConsentReceipt.org_id == org.id)
    ).all()
    answer = officer.get("/console/shop/subjects/u-1?lang=en")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "l***@example.cn" in html and "lei@example.cn" not in html
    assert "consent given" in html and "withdrawn" in html  # profiling allowed, marketing not
    assert len(receipt_ids) == 2 and all(r in html for r in receipt_ids)
    # newest first: the profiling grant (#3), then the withdrawal (#2), then the first grant (#1)
    assert html.index("#3 ·") < html.index("#2 ·") < html.index("#1 ·")
    assert f"/console/shop/requests/{request.public_id}" in html
    assert person.erased_at is None
    zh = officer.get("/console/shop/subjects/u-1?lang=zh").get_data(as_text=True)
    assert "同意记录（最新的在前）" in zh


def test_an_erased_person_shows_as_erased_by_their_pseudonym(officer, org, clock, db):
    person = make_subject(org, clock.now(), "u-1", email="lei@example.cn")
    grant(org, person, clock.now(), "marketing")
    erase_subject(org, person, clock.now(), reason="deletion request")
    db.session.commit()
    pseudonym = person.external_id
    assert pseudonym != "u-1"
    assert officer.get("/console/shop/subjects/u-1?lang=en").status_code == 404
    html = officer.get(f"/console/shop/subjects/{pseudonym}?lang=en").get_data(as_text=True)
    assert "Erased" in html and "information was erased" in html
    assert "l***" not in html and "Consent per purpose" not in html
    found = officer.get(f"/console/shop/subjects?q={pseudonym}&lang=en").get_data(as_text=True)
    assert pseudonym in found and "Erased" in found


def test_every_role_may_find_people_and_the_nav_shows_only_what_it_may_open(client, org, clock):
    sign_in_as(client, org, clock, "auditor")
    html = client.get("/console/shop/?lang=en").get_data(as_text=True)
    assert "/console/shop/subjects" in html and "/console/shop/staff" not in html
    assert "/console/shop/clients" not in html and "/console/shop/systems" not in html
    sign_in_as(client, org, clock, "admin")
    html = client.get("/console/shop/?lang=en").get_data(as_text=True)
    for path in ("subjects", "systems", "clients", "webhooks", "staff"):
        assert f"/console/shop/{path}" in html
