"""The dashboard's session: a fresh signed cookie at sign-in (Secure outside development and
testing, HttpOnly, SameSite=Lax), signed out after ``DASHBOARD_IDLE_MINUTES`` without a visit
(on the application's clock) and by a sign-out form that carries a CSRF token. Nothing the
dashboard answers may be kept by a cache."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from consent_service.dashboard.service import create_link
from tests.conftest import T0
from tests.factories import make_contract_purpose, make_org, make_purpose, make_subject, publish_policy

HTTPS = "https://consent.test"


@pytest.fixture
def person(db, clock):
    """An organization with a published policy, and one of its people."""
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "marketing")
    make_contract_purpose(org, clock.now(), "orders")
    publish_policy(org, clock.now())
    return org, make_subject(org, clock.now())


def sign_in(client, person, clock, **options):
    """Open a fresh hand-off link with ``client``; return the redirect."""
    org, subject = person
    url, _ = create_link(org, subject, clock.now())
    response = client.get(urlsplit(url).path + "?lang=en", **options)
    assert response.status_code == 302
    return response


def session_cookie(response) -> list[str]:
    """The attributes of the session cookie ``response`` sets, as written."""
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return [part.strip() for part in cookie.split(";")]


def csrf_token(page) -> str:
    """The CSRF token in a page's sign-out form."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


# --- the cookie ---------------------------------------------------------------------------------


def test_the_cookie_in_production_is_secure_httponly_and_lax(production_app, person, clock):
    client = production_app.test_client()
    attributes = session_cookie(sign_in(client, person, clock, base_url=HTTPS))
    assert "Secure" in attributes
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Path=/" in attributes
    assert any(a.startswith("Expires=") for a in attributes)  # PERMANENT_SESSION_LIFETIME
    assert not any(a.startswith("Domain=") for a in attributes)
    assert production_app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)
    assert client.get("/dashboard/?lang=en", base_url=HTTPS).status_code == 200


def test_the_cookie_in_testing_is_not_secure(client, person, clock):
    """Development and testing run on plain HTTP, where a Secure cookie would never return."""
    attributes = session_cookie(sign_in(client, person, clock))
    assert "Secure" not in attributes
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes


def test_sign_in_starts_a_new_session(client, person, clock, db):
    other = make_subject(person[0], clock.now())
    with client.session_transaction() as planted:
        planted["subject_id"] = other.id
        planted["left_over"] = "from before"
    sign_in(client, person, clock)
    with client.session_transaction() as session:
        assert dict(session) == {"subject_id": person[1].id, "seen_at": T0.isoformat(), "_permanent": True}


# --- the idle timeout ---------------------------------------------------------------------------


def test_a_visit_keeps_the_session_alive(client, person, clock):
    sign_in(client, person, clock)
    for _ in range(3):
        clock.advance(minutes=29, seconds=59)
        assert client.get("/dashboard/?lang=en").status_code == 200
    clock.advance(minutes=30)
    assert client.get("/dashboard/?lang=en").status_code == 200  # idle exactly 30 minutes


def test_an_idle_session_is_signed_out(client, person, clock):
    sign_in(client, person, clock)
    clock.advance(minutes=30, seconds=1)
    response = client.get("/dashboard/?lang=en")
    assert response.status_code == 401
    assert "You are not signed in" in response.get_data(as_text=True)
    assert session_cookie(response)[0] == "session="  # the cookie is deleted
    with client.session_transaction() as session:
        assert "subject_id" not in session
    assert client.get("/dashboard/?lang=en").status_code == 401


def test_the_idle_time_is_a_setting(app, client, person, clock, monkeypatch):
    monkeypatch.setitem(app.config, "DASHBOARD_IDLE_MINUTES", 5)
    sign_in(client, person, clock)
    clock.advance(minutes=5)
    assert client.get("/dashboard/").status_code == 200
    clock.advance(minutes=5, seconds=1)
    assert client.get("/dashboard/").status_code == 401


# --- signing out --------------------------------------------------------------------------------


def test_sign_out_with_the_forms_token(client, person, clock):
    sign_in(client, person, clock)
    page = client.get("/dashboard/?lang=en")
    assert '<form class="sign-out" method="post" action="/dashboard/sign-out?lang=en">' in page.get_data(
        as_text=True
    )

    response = client.post("/dashboard/sign-out?lang=en", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/signed-out?lang=en"
    assert session_cookie(response)[0] == "session="  # the cookie is deleted
    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    assert "You have signed out of your privacy dashboard" in done.get_data(as_text=True)
    assert client.get("/dashboard/?lang=en").status_code == 401


@pytest.mark.parametrize("data", [{}, {"csrf_token": "not-the-token"}], ids=["no token", "wrong token"])
def test_sign_out_without_the_token_is_refused(client, person, clock, data):
    sign_in(client, person, clock)
    response = client.post("/dashboard/sign-out?lang=en", data=data)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "This form has expired or could not be confirmed as coming from this site" in text
    assert "nothing was done" in text
    assert client.get("/dashboard/?lang=en").status_code == 200  # still signed in


def test_the_refusal_in_chinese(client, person, clock):
    sign_in(client, person, clock)
    response = client.post("/dashboard/sign-out?lang=zh")
    assert response.status_code == 400
    assert "此表单已失效" in response.get_data(as_text=True)


def test_sign_out_over_https_needs_a_same_origin_referrer(production_app, person, clock):
    """Over HTTPS Flask-WTF also wants a same-origin ``Referer``; ``Referrer-Policy:
    same-origin`` sends one to this site only."""
    client = production_app.test_client()
    sign_in(client, person, clock, base_url=HTTPS)
    page = client.get("/dashboard/?lang=en", base_url=HTTPS)
    assert page.headers["Referrer-Policy"] == "same-origin"
    form = {"csrf_token": csrf_token(page)}

    for referrer in (None, "https://elsewhere.example/"):
        headers = {"Referer": referrer} if referrer else {}
        refused = client.post("/dashboard/sign-out", base_url=HTTPS, data=form, headers=headers)
        assert refused.status_code == 400
    signed_out = client.post(
        "/dashboard/sign-out", base_url=HTTPS, data=form, headers={"Referer": f"{HTTPS}/dashboard/"}
    )
    assert signed_out.status_code == 303
    assert client.get("/dashboard/", base_url=HTTPS).status_code == 401


# --- caches -------------------------------------------------------------------------------------


def test_no_dashboard_answer_is_stored(client, person, clock):
    answers = [sign_in(client, person, clock)]
    page = client.get("/dashboard/?lang=en")
    answers += [
        page,
        client.post("/dashboard/sign-out", data={"csrf_token": csrf_token(page)}),
        client.get("/dashboard/signed-out"),
        client.get("/dashboard/"),  # 401
        client.get("/dashboard/enter/not-a-real-token"),  # 410
        client.post("/dashboard/sign-out"),  # 400
    ]
    assert [a.status_code for a in answers] == [302, 200, 303, 200, 401, 410, 400]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
