"""Signing in to the dashboard with a 6-digit code mailed to the person: the whole flow, no
enumeration of addresses, the attempt, expiry and resend limits, single use, CSRF, erased
people and the separation of organizations."""

from __future__ import annotations

import re

import pytest
from flask import g
from sqlalchemy import select

from consent_service.dashboard.jobs import JOBS
from consent_service.dashboard.models import SignInCode
from consent_service.dashboard.signin import purge_codes
from consent_service.extensions import limiter
from consent_service.mail.envelope import Envelope
from consent_service.mail.models import MailMessage
from tests.factories import make_contract_purpose, make_org, make_purpose, make_subject, publish_policy

ADDRESS = "Person@Example.CN"
KIND = "dashboard.sign_in_code"


@pytest.fixture(autouse=True)
def _fresh_limits():
    """The per-address Flask-Limiter budget counts on the wall clock: each test starts afresh."""
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "marketing")
    make_contract_purpose(org, clock.now(), "orders")
    publish_policy(org, clock.now())
    return org


@pytest.fixture
def person(org, clock):
    return make_subject(org, clock.now(), "u-1", email="person@example.cn")


def mails(db, org=None) -> list[Envelope]:
    """The sign-in mails queued (for ``org``), oldest first, unsealed."""
    query = select(MailMessage).where(MailMessage.kind == KIND).order_by(MailMessage.id)
    if org is not None:
        query = query.where(MailMessage.org_id == org.id)
    return [Envelope.unseal(m.content_encrypted) for m in db.session.scalars(query)]


def mailed_code(db, org) -> str:
    return re.search(r"\b([0-9]{6})\b", mails(db, org)[-1].text).group(1)


def token(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def session_cookie(response) -> str | None:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return found[0].split(";")[0] if found else None


def fresh_token():
    """Forget the CSRF token Flask-WTF keeps in ``g``: the test's application context is
    shared by every request of the test, so another client would be given this one's."""
    g.pop("csrf_token", None)


def ask(client, slug="shop", address=ADDRESS, lang="en"):
    """Open the address form and post it; return the answer."""
    fresh_token()
    page = client.get(f"/dashboard/sign-in?org={slug}&lang={lang}")
    assert page.status_code == 200
    return client.post(
        f"/dashboard/sign-in?lang={lang}", data={"csrf_token": token(page), "org": slug, "email": address}
    )


def enter(client, code, lang="en"):
    fresh_token()
    page = client.get(f"/dashboard/sign-in/code?lang={lang}")
    form = {"code": code}
    if page.status_code == 200:
        form["csrf_token"] = token(page)
    else:  # a spent code's page has no form: take the token from the address form
        form["csrf_token"] = token(client.get(f"/dashboard/sign-in?org=shop&lang={lang}"))
    return client.post(f"/dashboard/sign-in/code?lang={lang}", data=form)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- the flow -----------------------------------------------------------------------------------


def test_the_whole_flow_signs_in_with_a_new_session(client, db, org, person):
    asked = ask(client)
    assert asked.status_code == 303
    assert asked.headers["Location"] == "/dashboard/sign-in/code?lang=en"
    with client.session_transaction() as session:
        assert "subject_id" not in session  # not signed in before the code
    (mail,) = mails(db, org)
    assert mail.to == "person@example.cn"
    assert mail.language == "en"
    assert "Sign-in code" in mail.text
    before = session_cookie(asked)
    assert before is not None

    signed_in = enter(client, mailed_code(db, org))
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/dashboard/?lang=en"
    assert session_cookie(signed_in) not in (None, before)
    with client.session_transaction() as session:
        assert session["subject_id"] == person.id
        assert "sign_in_pending" not in session  # the new session holds none of the old
    assert client.get("/dashboard/?lang=en").status_code == 200


def test_the_pages_and_the_mail_in_chinese(client, db, org, person):
    page = client.get("/dashboard/sign-in?org=shop&lang=zh")
    text = page.get_data(as_text=True)
    assert "登录个人隐私面板" in text
    assert '<label for="email">电子邮箱地址</label>' in text
    assert 'autocomplete="email"' in text
    asked = ask(client, lang="zh")
    code_page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "输入登录验证码" in code_page
    assert 'autocomplete="one-time-code"' in code_page
    assert 'inputmode="numeric"' in code_page
    (mail,) = mails(db, org)
    assert mail.language == "zh-CN"
    assert "隐私面板登录验证码" in mail.subject


def test_the_form_chooses_among_the_public_organizations(app, client, org, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_ORGANIZATIONS", ["shop"])
    text = client.get("/dashboard/sign-in?lang=en").get_data(as_text=True)
    assert '<select id="org" name="org"' in text
    assert '<option value="shop">Example Shop</option>' in text
    monkeypatch.setitem(app.config, "PUBLIC_ORGANIZATIONS", [])
    text = client.get("/dashboard/sign-in?lang=en").get_data(as_text=True)
    assert "<select" not in text
    assert "Open the sign-in page from your organization" in text


def test_an_unknown_organization_is_a_404_page(client, db, org):
    assert client.get("/dashboard/sign-in?org=nobody&lang=en").status_code == 404
    response = ask_with_form(client, {"org": "nobody", "email": ADDRESS})
    assert response.status_code == 404
    assert "This page does not exist." in response.get_data(as_text=True)


def ask_with_form(client, form):
    page = client.get("/dashboard/sign-in?org=shop&lang=en")
    return client.post("/dashboard/sign-in?lang=en", data={"csrf_token": token(page), **form})


@pytest.mark.parametrize("address", ["", "not an address", "a@b", "Name <person@example.cn>"])
def test_a_bad_address_gets_a_message_beside_the_field(client, db, org, address):
    response = ask(client, address=address)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'aria-describedby="email-error"' in text
    assert '<p class="field-error" id="email-error">Enter an email address' in text
    assert '<form class="sign-in" method="post" action="/dashboard/sign-in?lang=en">' in text
    assert db.session.scalars(select(SignInCode)).all() == []


# --- no enumeration -----------------------------------------------------------------------------


def comparable(response):
    headers = sorted(
        (k, v) for k, v in response.headers.items() if not (k == "Set-Cookie" and v.startswith("session="))
    )
    return response.status_code, response.get_data(), headers


def test_an_unknown_address_is_answered_as_a_known_one(app, db, org, person):
    known, unknown = app.test_client(), app.test_client()
    answers = [ask(known), ask(unknown, address="nobody@example.cn")]
    assert comparable(answers[0]) == comparable(answers[1])
    pages = [c.get("/dashboard/sign-in/code?lang=en") for c in (known, unknown)]
    strip = [re.sub(rb'name="csrf_token" value="[^"]+"', b"", p.get_data()) for p in pages]
    assert [p.status_code for p in pages] == [200, 200]
    assert strip[0] == strip[1]
    assert [m.to for m in mails(db)] == ["person@example.cn"]  # nothing for the unknown address

    # a code for the unknown address is wrong whatever it is, answered like a wrong one
    answers = [enter(known, wrong(mailed_code(db, org))), enter(unknown, mailed_code(db, org))]
    assert [a.status_code for a in answers] == [400, 400]
    assert strip_token(answers[0]) == strip_token(answers[1])
    with unknown.session_transaction() as session:
        assert "subject_id" not in session


def strip_token(response) -> bytes:
    return re.sub(rb'name="csrf_token" value="[^"]+"', b"", response.get_data())


def test_the_resend_limit_holds_for_an_unknown_address_too(client, db, org):
    assert ask(client, address="nobody@example.cn").status_code == 303
    assert ask(client, address="nobody@example.cn").status_code == 429


# --- wrong codes and attempts -------------------------------------------------------------------


def test_a_wrong_code_says_how_many_attempts_are_left(client, db, org, person):
    ask(client)
    code = mailed_code(db, org)
    for left in (4, 3, 2, 1):
        response = enter(client, wrong(code))
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert (
            f'<p class="field-error" id="code-error">This code is not right; attempts left: {left}.</p>'
            in text
        )
        assert 'aria-describedby="code-error"' in text
    fifth = enter(client, wrong(code))
    assert fifth.status_code == 410
    assert "entered wrongly too many times" in fifth.get_data(as_text=True)
    assert 'href="/dashboard/sign-in?org=shop&amp;lang=en">Ask for a new code' in fifth.get_data(as_text=True)
    late = enter(client, code)  # the right code, after five wrong ones
    assert late.status_code == 410
    assert client.get("/dashboard/?lang=en").status_code == 401


def test_a_code_that_is_not_six_digits_is_not_counted(client, db, org, person):
    ask(client)
    response = enter(client, "12ab")
    assert response.status_code == 400
    assert "Enter the 6 digits of the code in the mail." in response.get_data(as_text=True)
    assert db.session.scalars(select(SignInCode)).one().attempts == 0
    code = mailed_code(db, org)
    assert enter(client, f"{code[:3]} {code[3:]}").status_code == 303  # spaces are allowed


def test_the_wrong_code_message_in_chinese(client, db, org, person):
    ask(client, lang="zh")
    response = enter(client, wrong(mailed_code(db, org)), lang="zh")
    assert "验证码不正确；剩余尝试次数：4。" in response.get_data(as_text=True)


# --- expiry, resends, single use ----------------------------------------------------------------


def test_a_code_expires_after_ten_minutes(client, db, org, person, clock):
    ask(client)
    code = mailed_code(db, org)
    clock.advance(minutes=10)
    response = enter(client, code)
    assert response.status_code == 410
    text = response.get_data(as_text=True)
    assert "This code can no longer be used: it has expired" in text
    assert "Ask for a new code" in text
    assert client.get("/dashboard/?lang=en").status_code == 401


def test_a_code_works_until_it_expires(client, db, org, person, clock):
    ask(client)
    clock.advance(minutes=9, seconds=59)
    assert enter(client, mailed_code(db, org)).status_code == 303


def test_resends_once_a_minute_and_five_an_hour(client, db, org, person, clock):
    assert ask(client).status_code == 303
    too_soon = ask(client)
    assert too_soon.status_code == 429
    assert too_soon.headers["Retry-After"] == "60"
    assert "A code was sent moments ago" in too_soon.get_data(as_text=True)
    assert len(mails(db, org)) == 1
    for _ in range(4):
        clock.advance(minutes=1)
        assert ask(client).status_code == 303
    clock.advance(minutes=1)
    too_many = ask(client)
    assert too_many.status_code == 429
    assert "Too many codes were sent to this address" in too_many.get_data(as_text=True)
    assert len(mails(db, org)) == 5
    clock.advance(minutes=56)  # an hour after the first
    assert ask(client).status_code == 303
    assert len(mails(db, org)) == 6


def test_a_new_code_replaces_the_last(client, db, org, person, clock):
    ask(client)
    first = mailed_code(db, org)
    clock.advance(minutes=1)
    ask(client)
    second = mailed_code(db, org)
    if first != second:
        assert enter(client, first).status_code == 400
    assert enter(client, second).status_code == 303


def test_a_code_is_single_use(app, db, org, person):
    client = app.test_client()
    ask(client)
    code = mailed_code(db, org)
    with client.session_transaction() as session:
        pending = session["sign_in_pending"]
    assert enter(client, code).status_code == 303

    replay = app.test_client()  # the same pending sign-in and code, once more
    with replay.session_transaction() as session:
        session["sign_in_pending"] = pending
    response = enter(replay, code)
    assert response.status_code == 410
    with replay.session_transaction() as session:
        assert "subject_id" not in session


def test_without_a_pending_sign_in_the_code_form_sends_back(client, db, org):
    response = client.get("/dashboard/sign-in/code?lang=en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/sign-in?lang=en"


# --- CSRF and the client limit ------------------------------------------------------------------


@pytest.mark.parametrize("data", [{}, {"csrf_token": "not-the-token"}], ids=["no token", "wrong token"])
def test_both_posts_need_the_forms_token(client, db, org, person, data):
    client.get("/dashboard/sign-in?org=shop&lang=en")
    refused = client.post("/dashboard/sign-in?lang=en", data={"org": "shop", "email": ADDRESS, **data})
    assert refused.status_code == 400
    assert "This form has expired or could not be confirmed" in refused.get_data(as_text=True)
    assert db.session.scalars(select(SignInCode)).all() == []
    assert mails(db) == []

    ask(client)
    refused = client.post("/dashboard/sign-in/code?lang=en", data={"code": mailed_code(db, org), **data})
    assert refused.status_code == 400
    assert "This form has expired or could not be confirmed" in refused.get_data(as_text=True)
    assert db.session.scalars(select(SignInCode)).one().attempts == 0
    assert client.get("/dashboard/?lang=en").status_code == 401


def test_the_posts_are_limited_per_client_address(app, client, db, org, person, monkeypatch):
    monkeypatch.setitem(app.config, "DASHBOARD_SIGN_IN_RATE_LIMIT", "3 per minute")
    ask(client)  # 1
    code = mailed_code(db, org)
    assert enter(client, wrong(code)).status_code == 400  # 2
    assert enter(client, wrong(code)).status_code == 400  # 3
    limited = enter(client, code)
    assert limited.status_code == 429
    assert "Too many requests from your address" in limited.get_data(as_text=True)
    assert client.get("/dashboard/?lang=en").status_code == 401


def test_the_client_limit_can_be_turned_off(app, client, db, org, person, monkeypatch):
    monkeypatch.setitem(app.config, "DASHBOARD_SIGN_IN_RATE_LIMIT", "")
    ask(client)
    code = mailed_code(db, org)
    for _ in range(4):
        enter(client, wrong(code))
    assert enter(client, wrong(code)).status_code == 410  # the attempts ran out, not the limit


# --- erased people, other organizations ---------------------------------------------------------


def test_an_erased_person_is_sent_nothing(client, db, org, person, clock):
    person.erased_at = clock.now()  # even with the address still on the row
    db.session.flush()
    assert ask(client).status_code == 303
    assert mails(db) == []
    assert db.session.scalars(select(SignInCode)).one().subject_id is None


def test_a_person_erased_after_the_code_was_sent_cannot_sign_in(client, db, org, person, clock):
    ask(client)
    code = mailed_code(db, org)
    person.erased_at = clock.now()
    db.session.flush()
    assert enter(client, code).status_code == 400
    with client.session_transaction() as session:
        assert "subject_id" not in session


def test_erasure_deletes_the_persons_codes(app, client, db, org, person, clock):
    from consent_service.consent.erasure import SignInArtefacts
    from consent_service.services import lookup

    ask(client)
    with app.test_request_context():
        assert lookup(SignInArtefacts)(person.id) == 1
    assert db.session.scalars(select(SignInCode)).all() == []


def test_the_same_address_in_another_organization_is_another_person(app, db, org, person, clock):
    other = make_org(clock.now(), "other", name_en="Other Shop")
    stranger = make_subject(other, clock.now(), "u-1", email="person@example.cn")
    client = app.test_client()
    ask(client, slug="other")
    assert mails(db, org) == []
    assert enter(client, mailed_code(db, other)).status_code == 303
    with client.session_transaction() as session:
        assert session["subject_id"] == stranger.id != person.id


def test_a_code_of_one_organization_does_not_open_another(app, db, org, person, clock):
    other = make_org(clock.now(), "other", name_en="Other Shop")
    make_subject(other, clock.now(), "u-2", email="person@example.cn")
    a, b = app.test_client(), app.test_client()
    ask(a)
    ask(b, slug="other")
    code_a, code_b = mailed_code(db, org), mailed_code(db, other)
    if code_a != code_b:
        assert enter(b, code_a).status_code == 400
    with b.session_transaction() as session:
        assert "subject_id" not in session
    assert enter(a, code_a).status_code == 303


def test_two_people_with_one_address_open_neither_dashboard(client, db, org, person, clock):
    make_subject(org, clock.now(), "u-2", email="person@example.cn")
    assert ask(client).status_code == 303
    assert mails(db) == []


# --- what is stored ------------------------------------------------------------------------------


def test_the_code_and_the_address_are_stored_only_as_hashes(client, db, org, person):
    ask(client)
    code = mailed_code(db, org)
    with client.session_transaction() as session:
        pending = session["sign_in_pending"]
        assert "person@example.cn" not in str(dict(session))
    row = db.session.scalars(select(SignInCode)).one()
    stored = " ".join(str(getattr(row, c.key)) for c in SignInCode.__table__.columns)
    for secret in (code, pending, "person@example.cn", "example.cn"):
        assert secret not in stored
    assert len(row.code_hash) == len(row.address_hash) == len(row.pending_hash) == 64
    (message,) = db.session.scalars(select(MailMessage).where(MailMessage.kind == KIND))
    assert code not in message.content_encrypted
    assert "person@example.cn" not in message.content_encrypted


def test_the_code_hash_is_keyed_by_the_secret(app, client, db, org, person, monkeypatch):
    from consent_service.dashboard.signin import _code_hash

    ask(client)
    row = db.session.scalars(select(SignInCode)).one()
    code = mailed_code(db, org)
    with app.app_context():
        assert _code_hash(row.pending_hash, code) == row.code_hash
        monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret")
        assert _code_hash(row.pending_hash, code) != row.code_hash


def test_no_sign_in_answer_is_stored(client, db, org, person):
    answers = [client.get("/dashboard/sign-in?org=shop"), ask(client), client.get("/dashboard/sign-in/code")]
    assert [a.status_code for a in answers] == [200, 303, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"


def test_old_sign_in_rows_are_deleted_by_the_scheduler(client, db, org, person, clock):
    ask(client)
    ask(client, address="nobody@example.cn")
    assert len(db.session.scalars(select(SignInCode)).all()) == 2
    clock.advance(hours=23)
    assert purge_codes(clock.now()) == 0  # still within the resend window's reach
    clock.advance(hours=1, seconds=1)
    assert purge_codes(clock.now()) == 2
    assert db.session.scalars(select(SignInCode)).all() == []
    assert [job.name for job in JOBS] == ["sign_in_codes"]
