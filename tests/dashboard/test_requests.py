"""My requests in the dashboard: the person's rights requests listed, a form per type that asks
only what the type needs (GB/T 8.5 c), each made as the signed-in person (their session proves
who they are), followed on its own page (deadline, steps, refusal) and withdrawn; nobody else's
request is shown, and every form post carries its CSRF token."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import g
from sqlalchemy import func, select

from consent_service.rights import actions, fulfilment, service
from consent_service.rights.models import RightsRequest, RightsRequestEvent
from consent_service.rights.timeline import Actor
from tests.dashboard.test_session import csrf_token, sign_in
from tests.factories import make_contract_purpose, make_org, make_purpose, make_subject, publish_policy

OFFICER = Actor("officer", "li.officer@shop.example")
#: What each type's form posts, beyond the type (a valid request of that kind).
VALID = {
    "access": {},
    "copy": {},
    "portability": {"details": "to another shop"},
    "correction": {"email": "new@example.cn", "phone": "+86 138 0000 0000", "details": "my name too"},
    "deletion": {"details": "the old orders"},
    "restriction": {},
    "cancellation": {},
    "withdrawal": {},
    "explanation": {"details": "why was I shown this?"},
    "complaint": {"details": "too many messages"},
}
#: The fields each type's form asks for (GB/T 8.5 c: nothing more).
ASKED = {
    "access": [],
    "copy": [],
    "cancellation": [],
    "withdrawal": [],
    "correction": ["email", "phone", "details"],
    "explanation": ["details"],
    "complaint": ["details"],
    "deletion": ["details"],
    "restriction": ["details"],
    "portability": ["details"],
}
#: T0 is Monday 2026-11-02 10:00 in Shanghai: 30 calendar days, or 15 working days.
DUE = {t: date(2026, 12, 2) for t in VALID} | {
    t: date(2026, 11, 23) for t in ("correction", "deletion", "cancellation", "complaint")
}
DUE_TEXT = {
    date(2026, 12, 2): ("December 2, 2026", "2026年12月2日"),
    date(2026, 11, 23): ("November 23, 2026", "2026年11月23日"),
}


@pytest.fixture
def person(db, clock):
    """An organization with a published policy, and one of its people (with an address)."""
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "marketing")
    make_contract_purpose(org, clock.now(), "orders")
    publish_policy(org, clock.now())
    return org, make_subject(org, clock.now(), "u-1", email="person@example.cn")


@pytest.fixture
def signed_in(client, person, clock):
    sign_in(client, person, clock)
    return client


def sign_in_again(client, person, clock) -> None:
    """Sign in anew after the session went idle. The tests' requests share the test's application
    context, so Flask-WTF's token cached in ``g`` for the old session is dropped as a new
    request context would."""
    sign_in(client, person, clock)
    g.pop("csrf_token", None)


def rows(db) -> list[RightsRequest]:
    return list(db.session.scalars(select(RightsRequest).order_by(RightsRequest.id)))


def text(response) -> str:
    return response.get_data(as_text=True)


def make(client, request_type: str, lang: str = "en", **fields):
    """Open the type's form and post it with the form's own CSRF token."""
    form = client.get(f"/dashboard/requests/new?type={request_type}&lang={lang}")
    assert form.status_code == 200
    data = {"csrf_token": csrf_token(form), "type": request_type} | VALID[request_type] | fields
    return client.post(f"/dashboard/requests?lang={lang}", data=data)


def made(client, request_type: str, lang: str = "en", **fields) -> str:
    """Make a request; return its public id."""
    response = make(client, request_type, lang, **fields)
    assert response.status_code == 303, text(response)
    return response.headers["Location"].split("/")[-1].split("?")[0]


# --- signed in only -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/dashboard/requests", "/dashboard/requests/new", "/dashboard/requests/new?type=access",
             "/dashboard/requests/rr_anything"],
)  # fmt: skip
def test_not_signed_in_is_a_401_page(client, person, path):
    response = client.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert response.status_code == 401
    assert "You are not signed in" in text(response)


def test_a_post_without_a_session_creates_nothing(client, person, db):
    response = client.post("/dashboard/requests?lang=en", data={"type": "access"})
    assert response.status_code in (400, 401)
    assert rows(db) == []


# --- the list -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", ("You have made no requests yet", "Cancel my account", "Make a request")),
     ("zh", ("您还没有提出任何请求", "注销账户", "提出请求"))],
)  # fmt: skip
def test_the_empty_list_explains_what_can_be_asked(signed_in, lang, expected):
    page = signed_in.get(f"/dashboard/requests?lang={lang}")
    assert page.status_code == 200
    body = text(page)
    for words in expected:
        assert words in body
    assert body.count("<li><strong>") == 10  # every right, each with its clause
    assert "GB/T 8.5" in body and "PIPL 48" in body
    assert f'href="/dashboard/requests?lang={lang}" aria-current="page"' in body  # the nav item
    assert page.headers["Cache-Control"] == "no-store"


def test_the_list_shows_each_request_newest_first(signed_in, clock):
    first = made(signed_in, "deletion")
    clock.advance(minutes=10)
    second = made(signed_in, "access")
    body = text(signed_in.get("/dashboard/requests?lang=en"))
    assert body.index(second) < body.index(first)
    assert f'href="/dashboard/requests/{second}?lang=en">See my information</a>' in body
    assert "Delete my information" in body and "PIPL 47 · GB/T 8.3" in body
    assert "November 23, 2026" in body and "December 2, 2026" in body
    assert body.count("In progress") == 2
    assert "provisional" not in body


def test_the_list_in_chinese(signed_in):
    made(signed_in, "access", "zh")
    body = text(signed_in.get("/dashboard/requests?lang=zh"))
    assert "查阅我的信息" in body and "处理中" in body and "2026年12月2日" in body


# --- choosing and the forms ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_chooser_lists_the_ten_rights_as_one_radio_group(signed_in, lang):
    page = signed_in.get(f"/dashboard/requests/new?lang={lang}")
    assert page.status_code == 200
    body = text(page)
    assert body.count("<fieldset") == 1 and "<legend>" in body
    radios = re.findall(r'<input type="radio" name="type" id="type-(\w+)" value="(\w+)"', body)
    assert [code for code, value in radios if code == value] == list(VALID)
    for code, _ in radios:
        assert f'<label for="type-{code}">' in body
        assert f'id="type-{code}-about"' in body
    assert ("What would you like to ask for?" if lang == "en" else "您想提出哪种请求？") in body


def test_an_unknown_type_shows_the_chooser_again(signed_in):
    page = signed_in.get("/dashboard/requests/new?type=mind-reading&lang=en")
    assert page.status_code == 400
    assert "Choose one of the requests listed." in text(page)
    assert 'aria-describedby="type-error"' in text(page)


@pytest.mark.parametrize("request_type", sorted(ASKED))
def test_each_form_asks_only_what_its_type_needs(signed_in, request_type):
    page = signed_in.get(f"/dashboard/requests/new?type={request_type}&lang=en")
    assert page.status_code == 200
    body = text(page)
    controls = re.findall(r'<(?:input|textarea) id="([\w-]+)" name="(\w+)"', body)
    assert [name for _, name in controls] == ASKED[request_type]
    for control_id, _ in controls:
        assert f'<label for="{control_id}">' in body
    if not ASKED[request_type]:
        assert "Nothing more is needed" in body


# --- making a request ---------------------------------------------------------------------------


@pytest.mark.parametrize("request_type", sorted(VALID))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_kind_is_made_as_the_signed_in_person(signed_in, person, db, clock, request_type, lang):
    response = make(signed_in, request_type, lang)
    assert response.status_code == 303
    [row] = rows(db)
    assert response.headers["Location"] == f"/dashboard/requests/{row.public_id}?lang={lang}"
    assert (row.type, row.channel, row.requester_kind) == (request_type, "dashboard", "subject")
    assert (row.identity_verified_by, row.identity_verified_at) == ("dashboard", clock.now())
    assert row.subject_id == person[1].id
    assert row.language == ("en" if lang == "en" else "zh-CN")
    assert row.due_day == DUE[request_type]
    verify = db.session.scalars(
        select(RightsRequestEvent).where(
            RightsRequestEvent.request_id == row.id, RightsRequestEvent.action == "verify"
        )
    ).one()
    assert verify.actor_kind == "subject"
    page = signed_in.get(response.headers["Location"])
    assert page.status_code == 200
    body = text(page)
    assert DUE_TEXT[row.due_day][0 if lang == "en" else 1] in body
    confirmation = "Your request was received." if lang == "en" else "您的请求已收到。"
    assert confirmation in body
    assert confirmation not in text(signed_in.get(response.headers["Location"]))  # shown once


def test_a_correction_carries_what_to_correct(signed_in, person, db):
    made(signed_in, "correction", email="New@Example.cn", phone="", details="")
    [row] = rows(db)
    assert row.corrections_encrypted and not row.details_encrypted
    assert person[1].email == "New@example.cn"  # what this service holds is corrected at once


def test_fields_a_type_does_not_ask_for_are_not_stored(signed_in, db):
    made(signed_in, "access", details="not asked", email="x@example.cn")
    [row] = rows(db)
    assert (row.details_encrypted, row.corrections_encrypted) == (None, None)


@pytest.mark.parametrize(
    ("request_type", "fields", "field", "message"),
    [
        ("correction", {"email": "not-an-address"}, "email", "This is not an email address"),
        ("correction", {"email": "", "phone": "", "details": ""}, "details", "Say what should be corrected"),
        ("correction", {"phone": "1"}, "phone", "A phone number has 3 to 64 characters."),
        ("explanation", {"details": "  "}, "details", "Please fill this in."),
        ("complaint", {"details": "x" * 20001}, "details", "This is too long"),
    ],
)
def test_a_bad_field_shows_the_form_again_with_its_message(
    signed_in, db, request_type, fields, field, message
):
    response = make(signed_in, request_type, **fields)
    assert response.status_code == 400
    body = text(response)
    error = re.search(rf'<p class="field-error" id="field-{field}-error">([^<]*)</p>', body)
    assert error and message in error.group(1)
    control = re.search(rf'<(?:input|textarea) id="field-{field}"[^>]*>', body).group(0)
    assert f"field-{field}-error" in control and 'aria-invalid="true"' in control
    assert rows(db) == []
    assert db.session.scalar(select(func.count()).select_from(RightsRequestEvent)) == 0


def test_a_bad_email_in_chinese(signed_in, db):
    response = make(signed_in, "correction", "zh", email="not-an-address")
    assert response.status_code == 400
    assert "这不是有效的电子邮件地址" in text(response)
    assert rows(db) == []


def test_an_unknown_type_posted_is_a_400_not_a_500(signed_in, db):
    form = signed_in.get("/dashboard/requests/new?lang=en")
    response = signed_in.post(
        "/dashboard/requests?lang=en", data={"csrf_token": csrf_token(form), "type": "x"}
    )
    assert response.status_code == 400
    assert rows(db) == []


def test_making_a_request_needs_the_forms_token(signed_in, db):
    for data in ({"type": "access"}, {"type": "access", "csrf_token": "forged"}):
        response = signed_in.post("/dashboard/requests?lang=en", data=data)
        assert response.status_code == 400
        assert "nothing was done" in text(response)
    assert rows(db) == []


# --- one request --------------------------------------------------------------------------------


def test_a_due_date_past_the_calendar_data_is_provisional(signed_in, person, db, clock):
    """The package's calendar knows 2026; 15 working days from 2026-12-20 run into 2027."""
    settled = made(signed_in, "access")
    clock.advance(days=48)  # Sunday 2026-12-20
    sign_in_again(signed_in, person, clock)  # the session went idle meanwhile
    provisional = made(signed_in, "deletion")
    by_id = {r.public_id: r for r in rows(db)}
    assert by_id[provisional].provisional is True and by_id[settled].provisional is False
    warning = "This due date is provisional"
    assert warning in text(signed_in.get(f"/dashboard/requests/{provisional}?lang=en"))
    assert warning not in text(signed_in.get(f"/dashboard/requests/{settled}?lang=en"))
    listing = text(signed_in.get("/dashboard/requests?lang=en"))
    assert listing.count(warning) == 1
    assert "此截止日期是暂定的" in text(signed_in.get(f"/dashboard/requests/{provisional}?lang=zh"))


def test_the_page_shows_steps_without_names_or_notes(signed_in, person, db, clock):
    public_id = made(signed_in, "explanation")
    org = person[0]
    actions.assign(org, public_id, OFFICER.name, clock.now(), OFFICER)
    actions.pause(org, public_id, "internal: ask Wang in legal first", clock.advance(days=1), OFFICER)
    actions.resume(org, public_id, clock.advance(days=3), OFFICER, "checked with legal")
    sign_in_again(signed_in, person, clock)  # the session went idle meanwhile
    body = text(signed_in.get(f"/dashboard/requests/{public_id}?lang=en"))
    for step in (
        "Request received",
        "Identity confirmed",
        "Assigned to staff",
        "Waiting for your answer",
        "Resumed",
    ):
        assert step in body
    assert "(you)" in body and "(the company&#39;s staff)" in body
    assert OFFICER.name not in body and "Wang" not in body and "checked with legal" not in body
    assert re.search(r"<dt>Days paused</dt><dd>3</dd>", body)
    assert "Nov 2, 2026, 10:00:00" in body  # received, in the organization's zone (Shanghai)
    assert "2026年11月2日 10:00:00" in text(signed_in.get(f"/dashboard/requests/{public_id}?lang=zh"))


def test_a_refusal_shows_its_ground_explanation_and_complaint_channel(signed_in, person, clock):
    public_id = made(signed_in, "deletion")
    actions.refuse(
        person[0], public_id, clock.now(), OFFICER, ground="legal_duty",
        explanation="Tax law keeps invoices for 30 years.", complaint_channel="pipo@shop.example",
    )  # fmt: skip
    body = text(signed_in.get(f"/dashboard/requests/{public_id}?lang=en"))
    assert "Refused" in body and "The handler&#39;s duties under law or regulation" in body
    assert "Tax law keeps invoices for 30 years." in body and "pipo@shop.example" in body
    assert "Withdraw this request" not in body
    assert "与个人信息控制者履行法律法规规定的义务相关" in text(
        signed_in.get(f"/dashboard/requests/{public_id}?lang=zh")
    )


@pytest.mark.parametrize("request_type", ["access", "copy", "portability"])
def test_a_completed_package_request_says_the_link_was_mailed_never_the_link(
    signed_in, person, db, clock, request_type
):
    public_id = made(signed_in, request_type)
    fulfilment.finish(person[0], public_id, clock.now(), OFFICER, None)
    body = text(signed_in.get(f"/dashboard/requests/{public_id}?lang=en"))
    assert "Completed" in body
    assert "Your download link was sent to you by mail" in body
    assert "/rights/packages/" not in body
    assert "下载链接已通过邮件发送给您" in text(signed_in.get(f"/dashboard/requests/{public_id}?lang=zh"))


def test_an_open_package_request_says_nothing_of_a_link(signed_in):
    public_id = made(signed_in, "access")
    assert "download link" not in text(signed_in.get(f"/dashboard/requests/{public_id}?lang=en"))


def test_another_persons_request_is_a_404(signed_in, person, db, clock):
    org = person[0]
    other = make_subject(org, clock.now(), "u-2", email="two@example.cn")
    vouched = {"identity_verified_by": "company", "client_id": "cs_x"}
    theirs = service.create_request(org, other.external_id, "access", clock.now(), **vouched)
    elsewhere = make_org(clock.now())
    make_subject(elsewhere, clock.now(), "u-1")
    foreign = service.create_request(elsewhere, "u-1", "access", clock.now(), **vouched)
    for public_id in (theirs.public_id, foreign.public_id, "rr_nothing"):
        response = signed_in.get(f"/dashboard/requests/{public_id}?lang=en")
        assert response.status_code == 404
        assert "This page does not exist." in text(response)
        page = signed_in.get("/dashboard/requests?lang=en")
        refused = signed_in.post(
            f"/dashboard/requests/{public_id}/withdraw?lang=en", data={"csrf_token": csrf_token(page)}
        )
        assert refused.status_code == 404
    assert (theirs.status, foreign.status) == ("in_progress", "in_progress")
    assert theirs.public_id not in text(signed_in.get("/dashboard/requests?lang=en"))


# --- withdrawing --------------------------------------------------------------------------------


def test_the_person_withdraws_an_open_request(signed_in, db):
    public_id = made(signed_in, "access")
    page = signed_in.get(f"/dashboard/requests/{public_id}?lang=en")
    assert f'action="/dashboard/requests/{public_id}/withdraw?lang=en"' in text(page)
    response = signed_in.post(
        f"/dashboard/requests/{public_id}/withdraw?lang=en", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/dashboard/requests/{public_id}?lang=en"
    [row] = rows(db)
    assert (row.status, row.closed_at is not None) == ("withdrawn_by_requester", True)
    last = db.session.scalars(
        select(RightsRequestEvent)
        .where(RightsRequestEvent.request_id == row.id)
        .order_by(RightsRequestEvent.seq.desc())
    ).first()
    assert (last.action, last.actor_kind, last.actor) == ("withdraw", "subject", None)
    body = text(signed_in.get(response.headers["Location"]))
    assert "Your request was withdrawn." in body and "Withdrawn by you" in body
    assert "Withdraw this request" not in body


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_closed_request_cannot_be_withdrawn(signed_in, db, lang):
    public_id = made(signed_in, "withdrawal", lang)  # completes at once
    page = signed_in.get(f"/dashboard/requests/{public_id}?lang={lang}")
    response = signed_in.post(
        f"/dashboard/requests/{public_id}/withdraw?lang={lang}", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 409
    message = "This request is already closed" if lang == "en" else "此请求已结束"
    assert message in text(response)
    assert rows(db)[0].status == "completed"


def test_withdrawing_needs_the_forms_token(signed_in, db):
    public_id = made(signed_in, "access")
    for data in ({}, {"csrf_token": "forged"}):
        response = signed_in.post(f"/dashboard/requests/{public_id}/withdraw?lang=en", data=data)
        assert response.status_code == 400
    assert rows(db)[0].status == "in_progress"


def test_no_answer_is_stored_by_a_cache(signed_in):
    public_id = made(signed_in, "access")
    for path in ("/dashboard/requests", "/dashboard/requests/new", f"/dashboard/requests/{public_id}"):
        assert signed_in.get(path).headers["Cache-Control"] == "no-store"
