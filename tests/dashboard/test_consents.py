"""The person's consent page: basic functions without a switch, extended ones with one switch
each, separate consents on cards of their own with their notice; giving and withdrawing through
the ledger (channel web, the notice's SHA-256 as evidence), re-consent after a material change,
a guardian for a child, the history with receipts to download; in both languages; CSRF."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from consent_service.canonical import canonical_json
from consent_service.consent.decisions import decide
from consent_service.consent.models import ConsentEvent
from consent_service.dashboard import consents
from consent_service.dashboard.service import create_link
from consent_service.extensions import db
from consent_service.policies import purposes
from consent_service.receipts.models import ConsentReceipt
from tests.factories import (
    make_contract_purpose,
    make_org,
    make_purpose,
    make_subject,
    publish_policy,
)


@pytest.fixture
def world(db, clock):
    """An organization with a basic function, an extended one, one on sensitive information and
    one sent abroad, a published policy and a person."""
    org = make_org(clock.now())
    make_contract_purpose(org, clock.now(), "orders")
    make_purpose(org, clock.now(), "marketing", pi_categories=["basic", "browsing"])
    make_purpose(org, clock.now(), "face", pi_categories=["biometric"], consent_requirement="separate")
    make_purpose(
        org,
        clock.now(),
        "support_abroad",
        pi_categories=["basic"],
        consent_requirement="separate",
        cross_border_recipients=[
            {"name": "Merlion Care Pte", "country": "Singapore", "contact": "dpo@merlion.example",
             "rights_channel": "mail dpo@merlion.example"}
        ],
    )  # fmt: skip
    publish_policy(org, clock.now(), "v1")
    person = make_subject(org, clock.now(), "u-1", email="u1@example.cn")
    return org, person


def signed_in(client, org, person, clock, lang="en"):
    url, _ = create_link(org, person, clock.now())
    assert client.get(urlsplit(url).path).status_code == 302
    return client.get(f"/dashboard/?lang={lang}")


def form_of(page, code: str) -> dict[str, str]:
    """The hidden fields of a purpose's form on the page."""
    html = page.get_data(as_text=True)
    action = f"/dashboard/consents/{code}"
    start = html.index(f'action="{action}')
    form = html[start : html.index("</form>", start)]
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    return fields


def post(client, code, fields, lang="en", **extra):
    return client.post(f"/dashboard/consents/{code}?lang={lang}", data=fields | extra)


def allowed(org, code, clock) -> bool:
    return decide(org, "u-1", code, clock.now(), clock.now()).allowed


def test_the_page_shows_three_kinds_of_purpose_in_both_languages(client, world, clock):
    org, person = world
    page = signed_in(client, org, person, clock)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for heading in ("Basic functions", "Extended functions", "Separate consent"):
        assert heading in html
    assert 'action="/dashboard/consents/orders' not in html  # a basic function has no switch
    assert "Legal basis: PIPL 13(2)" in html
    assert html.count('action="/dashboard/consents/') == 3
    assert "Why your separate consent is asked:" in html
    assert "it uses sensitive personal information" in html and "the information is sent abroad" in html
    assert "Merlion Care Pte" in html and "Singapore" in html and "mail dpo@merlion.example" in html
    assert "I agree to “face name”" in html
    zh = client.get("/dashboard/?lang=zh").get_data(as_text=True)
    for heading in ("基本业务功能", "扩展业务功能", "单独同意", "需要您单独同意的原因："):
        assert heading in zh


def test_giving_and_withdrawing_are_one_action_each_through_the_ledger(client, world, clock):
    org, person = world
    page = signed_in(client, org, person, clock)
    fields = form_of(page, "marketing")
    response = post(client, "marketing", fields, action="give")
    assert response.status_code == 303 and response.headers["Location"].endswith("#p-marketing")
    assert allowed(org, "marketing", clock)
    (event,) = consents_events(person)
    version = purposes.get_purpose(org, "marketing").current
    assert (event.action, event.method, event.consent_type, event.is_subject_initiated) == (
        "grant",
        "web",
        "explicit",
        True,
    )
    assert event.evidence["notice_sha256"] == fields["notice"] == consents.notice_sha256(version, "en")
    assert "Your consent was given." in client.get("/dashboard/?lang=en").get_data(as_text=True)
    clock.advance(minutes=1)
    response = post(
        client, "marketing", form_of(client.get("/dashboard/?lang=en"), "marketing"), action="withdraw"
    )
    assert response.status_code == 303
    assert not allowed(org, "marketing", clock)
    assert [e.action for e in consents_events(person)] == ["grant", "withdraw"]


def test_the_notice_hash_is_that_of_the_notice_shown(world):
    org, _ = world
    version = purposes.get_purpose(org, "face").current
    notice = consents._notice(version, "zh", consents._categories(version, "zh"))
    assert notice["name"] == "face 中文" and notice["categories"] == ["个人生物识别信息"]
    assert consents.notice_sha256(version, "zh") == hashlib.sha256(canonical_json(notice)).hexdigest()
    assert consents.notice_sha256(version, "zh") != consents.notice_sha256(version, "en")


def test_a_separate_consent_is_given_on_its_own_card(client, world, clock):
    org, person = world
    page = signed_in(client, org, person, clock, lang="zh")
    assert post(client, "face", form_of(page, "face"), lang="zh", action="give").status_code == 303
    (event,) = consents_events(person)
    assert event.consent_type == "separate" and event.evidence["locale"] == "zh-CN"
    assert allowed(org, "face", clock) and not allowed(org, "marketing", clock)


def test_an_act_on_a_notice_that_changed_is_refused_beside_the_purpose(client, world, clock):
    org, person = world
    fields = form_of(signed_in(client, org, person, clock), "marketing")
    purposes.change_purpose(org, "marketing", {"description_en": "Now also by SMS"}, clock.now(), note="SMS")
    response = post(client, "marketing", fields, action="give")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This purpose has changed since the page was shown. Read it again below." in html
    assert 'id="act-marketing-error"' in html and 'aria-describedby="act-marketing-error"' in html
    assert consents_events(person) == []


@pytest.mark.parametrize("fields", [{}, {"csrf_token": "forged"}], ids=["no token", "wrong token"])
def test_a_post_without_the_csrf_token_records_nothing(client, world, clock, fields):
    org, person = world
    page = signed_in(client, org, person, clock)
    notice = form_of(page, "marketing")["notice"]
    response = client.post(
        "/dashboard/consents/marketing?lang=en", data=fields | {"notice": notice, "action": "give"}
    )
    assert response.status_code == 400
    assert consents_events(person) == []


@pytest.mark.parametrize(
    ("code", "action", "status", "text"),
    [
        ("orders", "withdraw", 400, "This function rests on another legal basis"),
        ("marketing", "maybe", 400, "Choose to give or to withdraw consent."),
        ("nothing-like-it", "give", 404, "This page does not exist."),
    ],
)
def test_a_wrong_act_gets_a_message_never_a_500(client, world, clock, code, action, status, text):
    org, person = world
    page = signed_in(client, org, person, clock)
    fields = {"csrf_token": form_of(page, "marketing")["csrf_token"], "notice": "x"}
    response = post(client, code, fields, action=action)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert consents_events(person) == []


def test_nobody_signed_in_cannot_act(client, world):
    assert client.get("/dashboard/?lang=en").status_code == 401
    assert client.get("/dashboard/history?lang=en").status_code == 401


def test_a_child_is_consented_for_by_a_guardian_named_on_the_act(client, world, clock):
    org, _ = world
    child = make_subject(org, clock.now(), "kid-1", birth_date=date(2018, 5, 1))
    url, _ = create_link(org, child, clock.now())
    client.get(urlsplit(url).path)
    page = client.get("/dashboard/?lang=en")
    assert "This person is under 14" in page.get_data(as_text=True)
    fields = form_of(page, "marketing")
    refused = post(client, "marketing", fields, action="give")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Give the guardian&#39;s name." in html and 'aria-describedby="gn-marketing-error"' in html
    response = post(
        client, "marketing", fields, action="give", guardian_name="Wang Fang", guardian_relationship="mother"
    )
    assert response.status_code == 303
    (event,) = consents_events(child)
    assert (event.actor_kind, event.actor_name, event.actor_relationship) == (
        "guardian",
        "Wang Fang",
        "mother",
    )


def test_after_a_material_change_the_page_asks_again_and_nothing_counts_silently(client, world, clock):
    org, person = world
    page = signed_in(client, org, person, clock)
    post(client, "marketing", form_of(page, "marketing"), action="give")
    clock.advance(days=1)
    purposes.change_purpose(
        org, "marketing", {"pi_categories": ["basic", "browsing", "device"]}, clock.now(), note="adds SMS"
    )
    assert not allowed(org, "marketing", clock)  # the old consent no longer counts
    page = signed_in(client, org, person, clock)  # a day later: the old session has ended
    html = page.get_data(as_text=True)
    assert "Some purposes have changed" in html and "adds SMS" in html
    again = post(client, "marketing", form_of(page, "marketing"), action="give")
    assert again.status_code == 303
    assert allowed(org, "marketing", clock)


def test_the_history_lists_every_act_with_its_receipt_to_download(client, world, clock):
    org, person = world
    page = signed_in(client, org, person, clock)
    post(client, "marketing", form_of(page, "marketing"), action="give")
    clock.advance(minutes=5)
    post(client, "marketing", form_of(client.get("/dashboard/?lang=en"), "marketing"), action="withdraw")
    html = client.get("/dashboard/history?lang=en").get_data(as_text=True)
    assert html.count("<tr>") == 3  # the head and two acts
    assert "gave consent" in html and "withdrew consent" in html and "this dashboard" in html
    assert "How to check a receipt yourself" in html and "/.well-known/jwks.json" in html
    (receipt,) = consents_db(ConsentReceipt)
    jws = client.get(f"/dashboard/receipts/{receipt.receipt_id}.jws?lang=en")
    assert jws.status_code == 200 and jws.get_data(as_text=True) == receipt.jws
    assert "attachment" in jws.headers["Content-Disposition"]
    claims = client.get(f"/dashboard/receipts/{receipt.receipt_id}.json").get_json(force=True)
    payload = receipt.jws.split(".")[1]
    assert claims == json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert "u-1" in json.dumps(claims)
    zh = client.get("/dashboard/history?lang=zh").get_data(as_text=True)
    assert "如何自行核验回执" in zh and "本面板" in zh


def test_another_persons_receipt_is_not_found(client, world, clock):
    org, person = world
    other = make_subject(org, clock.now(), "u-2")
    url, _ = create_link(org, other, clock.now())
    client.get(urlsplit(url).path)
    page = client.get("/dashboard/?lang=en")
    post(client, "marketing", form_of(page, "marketing"), action="give")
    (receipt,) = consents_db(ConsentReceipt)
    signed_in(client, org, person, clock)  # now u-1
    assert client.get(f"/dashboard/receipts/{receipt.receipt_id}.jws").status_code == 404
    assert client.get(f"/dashboard/receipts/{receipt.receipt_id}.pdf").status_code == 404


def consents_events(subject) -> list[ConsentEvent]:
    query = select(ConsentEvent).where(ConsentEvent.subject_id == subject.id).order_by(ConsentEvent.seq)
    return list(db.session.scalars(query))


def consents_db(model):
    return list(db.session.scalars(select(model)))
