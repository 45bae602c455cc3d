"""Dashboard hand-off: a company signs its user into the privacy dashboard with a link that
works once, for 10 minutes, and only for a subject of the company's own organization."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from consent_service.dashboard.models import DashboardLink
from consent_service.tokens import hash_secret
from tests.conftest import T0

GRANT = {"purpose": "marketing", "action": "grant", "consent_type": "explicit"}


@pytest.fixture
def person(client, api):
    assert client.put("/api/v1/subjects/u1", json={}, headers=api.headers).status_code == 201
    assert client.post("/api/v1/subjects/u1/consents", json=GRANT, headers=api.headers).status_code == 201
    return "u1"


def make_link(client, api, subject: str):
    return client.post(f"/api/v1/subjects/{subject}/dashboard-links", headers=api.headers)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_create_a_link(client, api, person, db):
    response = make_link(client, api, person)
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"url", "expires_at"}
    assert body["url"].startswith("https://consent.test/dashboard/enter/")
    assert body["expires_at"] == (T0 + timedelta(minutes=10)).isoformat()
    token = path_of(body["url"]).rsplit("/", 1)[1]
    assert len(token) >= 40
    row = db.session.scalars(select(DashboardLink)).one()
    assert row.token_hash == hash_secret(token)
    assert row.used_at is None


def test_the_link_signs_the_person_in(client, api, person):
    url = make_link(client, api, person).json["url"]
    response = client.get(path_of(url) + "?lang=en")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/dashboard/"
    page = client.get("/dashboard/?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("marketing name", "face name", "orders name"):
        assert name in html
    assert "you agreed" in html  # marketing
    assert "needed for our contract with you" in html  # orders
    assert "Privacy policy" in html and "v1" in html


def test_the_dashboard_needs_a_link(client):
    assert client.get("/dashboard/?lang=en").status_code == 401


def test_the_link_works_once(client, api, person, db):
    url = make_link(client, api, person).json["url"]
    assert client.get(path_of(url)).status_code == 302
    again = client.get(path_of(url))
    assert again.status_code == 410
    assert db.session.scalars(select(DashboardLink)).one().used_at == T0


def test_the_link_expires_after_10_minutes(client, api, person, clock):
    url = make_link(client, api, person).json["url"]
    clock.advance(minutes=10)
    response = client.get(path_of(url) + "?lang=en")
    assert response.status_code == 410
    assert client.get("/dashboard/?lang=en").status_code == 401


def test_the_link_still_works_just_before_10_minutes(client, api, person, clock):
    url = make_link(client, api, person).json["url"]
    clock.advance(minutes=9, seconds=59)
    assert client.get(path_of(url)).status_code == 302


def test_an_unknown_link_is_410(client):
    assert client.get("/dashboard/enter/not-a-real-token").status_code == 410


def test_another_organizations_subject_is_404(client, api, make_caller, person, db):
    other = make_caller()
    response = make_link(client, other, person)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "not_found"
    assert db.session.scalars(select(DashboardLink)).all() == []


def test_the_link_answer_is_not_stored(client, api, person):
    response = make_link(client, api, person)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    redirect = client.get(path_of(response.json["url"]))
    assert redirect.status_code == 302
    assert redirect.headers["Cache-Control"] == "no-store"
