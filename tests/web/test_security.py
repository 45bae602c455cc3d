"""Security headers on every page, what no cache may keep, and pages that work under the CSP.

The pages are every GET route of the application that is not an API operation or one of the
few JSON routes named below, read from ``url_map``: a new page is checked without anyone
adding it here, and a new JSON route fails the test until it is named as not a page.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import select

from consent_service import create_app, demo
from consent_service.api import registry
from consent_service.consent import subjects
from consent_service.dashboard.service import create_link
from consent_service.extensions import db as _db
from consent_service.mail.envelope import Envelope
from consent_service.mail.models import MailMessage
from consent_service.oauth import service as oauth
from consent_service.organizations import service as organizations
from consent_service.rights import service as rights_service
from consent_service.staff import accounts as staff_accounts
from consent_service.web.security import CONTENT_SECURITY_POLICY
from consent_service.webhooks import service as webhooks
from tests.factories import make_org

ROOT = Path(__file__).resolve().parents[2]

#: GET routes that answer JSON or files, not pages (the API's operations aside).
NOT_PAGES = {
    "static",
    "main.healthz",
    "receipts.jwks",
    "oauth.discovery",
    "api.openapi_document",
    "rights.package",  # a zip
    "dashboard.receipt",  # a JWS, JSON or PDF download
    "dashboard.consent_record",  # a PDF download
    "dashboard.policy_archive",  # a PDF download
}


def _page_rules() -> list:
    """The GET rules of every page, from an application that never touches its database."""
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "routes-only",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "WEBHOOK_DISPATCH": "off",
        }
    )
    with app.app_context():
        _db.engine.dispose()
    skipped = NOT_PAGES | set(registry.BY_ENDPOINT)
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in skipped]
    return sorted(rules, key=lambda r: r.rule)


PAGE_RULES = _page_rules()


def directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [sources]}."""
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_page_headers(response) -> None:
    """The headers every HTML page carries."""
    headers = response.headers
    policy = directives(headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def assert_nothing_inline(raw: str) -> None:
    """No inline script, style or event handler: the CSP would block them."""
    assert "<script" not in raw
    assert "<style" not in raw
    assert not re.search(r"\sstyle=", raw)
    assert not re.search(r"\son[a-z]+=", raw)


@pytest.fixture
def seeded(db, clock):
    """The demo organization and one of its people."""
    demo.seed(clock.now())
    org = organizations.get_organization(demo.SLUG)
    return org, subjects.get_subject(org, "u-1001")


def link_path(org, subject, now) -> str:
    """The path of a fresh dashboard hand-off link."""
    url, _ = create_link(org, subject, now)
    return urlsplit(url).path


def console_link(org, now, endpoint: str) -> str:
    """The token of a fresh console enrolment link, or of a reset link for an enrolled member."""
    member, url = staff_accounts.invite(org, "staff@demo.example", "Staff", "officer", now)
    token = url.rsplit("/", 1)[1]
    if endpoint == "console.enrol_form":
        return token
    staff_accounts.enrol(token, "a long enough password", now)
    staff_accounts.request_reset(org, member.email, now, "en")
    sealed = _db.session.scalars(select(MailMessage).where(MailMessage.kind == "staff.password_reset")).one()
    return Envelope.unseal(sealed.content_encrypted).text.split("/console/reset/", 1)[1].split()[0]


def test_the_pages_are_found():
    endpoints = {rule.endpoint for rule in PAGE_RULES}
    expected = {"main.index", "policies.current", "api.reference", "dashboard.home", "dashboard.enter"}
    assert expected <= endpoints
    assert not endpoints & {"main.healthz", "api.openapi_document", "api.get_subject"}


@pytest.mark.parametrize("rule", PAGE_RULES, ids=lambda rule: rule.endpoint)
def test_every_page_carries_the_security_headers(app, client, seeded, clock, rule):
    org, subject = seeded
    client.get(link_path(org, subject, clock.now()))  # signed in: the dashboard is a page too
    samples = {
        "slug": demo.SLUG,
        "label": demo.POLICY_LABEL,
        "code": "marketing_sms",  # one of the demo's purposes
        "token": link_path(org, subject, clock.now()).rsplit("/", 1)[1],
        "external_id": subject.external_id,
        "receipt_id": "r-1",  # a console page: nobody is signed in, so a redirect
    }
    if "webhook_id" in rule.arguments:  # a console page: nobody is signed in, so a redirect
        endpoint, _ = webhooks.create_endpoint(org, "https://hooks.demo.example/in", ["*"], clock.now())
        samples["webhook_id"] = endpoint.public_id
    if "export_id" in rule.arguments:  # a console page: nobody is signed in, so a redirect
        samples["export_id"] = "ex_none"
    if "public_id" in rule.arguments:  # one of the person's own rights requests
        samples["public_id"] = rights_service.create_request(
            org,
            subject.external_id,
            "access",
            clock.now(),
            channel="dashboard",
            identity_verified_by="dashboard",
        ).public_id
    if rule.endpoint in ("console.enrol_form", "console.reset_password_form"):
        samples["token"] = console_link(org, clock.now(), rule.endpoint)
    missing = set(rule.arguments) - set(samples)
    assert not missing, f"give {rule.rule} a sample value for {sorted(missing)} here"
    with app.test_request_context():
        path = url_for(rule.endpoint, **{name: samples[name] for name in rule.arguments})

    response = client.get(path + "?lang=en")
    assert response.status_code < 400, (path, response.status_code)  # the page, not an error
    assert response.mimetype == "text/html"
    assert_page_headers(response)
    assert_nothing_inline(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/no/such/page", 404),
        ("/o/nowhere/policy", 404),
        ("/dashboard/", 401),
        ("/dashboard/enter/not-a-real-token", 410),
        ("/dashboard/sign-out", 405),
    ],
)
def test_error_pages_carry_them_too(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert_page_headers(response)


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/purposes",  # a problem document: no token
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/static/style.css",
    ],
)
def test_every_other_answer_says_nosniff(client, path):
    with client.get(path) as response:  # a static file is streamed: close it
        assert response.mimetype != "text/html"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_policy_is_the_documented_one():
    assert directives(CONTENT_SECURITY_POLICY) == {
        "default-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
    }


@pytest.mark.parametrize("template", sorted((ROOT / "templates").glob("*.html")), ids=lambda p: p.name)
def test_templates_have_nothing_inline(template):
    assert_nothing_inline(template.read_text())


def test_the_api_reference_works_under_the_policy(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert_page_headers(response)
    raw = response.get_data(as_text=True)
    assert_nothing_inline(raw)
    assert '<link rel="stylesheet" href="/static/style.css">' in raw  # 'self': allowed
    assert 'class="pre-line"' in raw
    assert ".pre-line { white-space: pre-line; }" in (ROOT / "static" / "style.css").read_text()


# --- what no cache may keep ---------------------------------------------------------------------


@pytest.fixture
def basic_auth(db, clock):
    """HTTP Basic credentials of a new client of a new organization."""
    issued = oauth.create_client(make_org(clock.now()), "backend", ["consents:read"], clock.now())
    db.session.commit()
    raw = base64.b64encode(f"{issued.client.client_id}:{issued.client_secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_token_answers_are_not_stored(client, basic_auth):
    """Authlib sets ``no-store`` on the token, introspection and revocation answers (RFC 6749
    5.1), refusals included; this holds it to that."""
    grant = {"grant_type": "client_credentials"}
    issued = client.post("/oauth/token", data=grant, headers=basic_auth)
    assert issued.status_code == 200
    token = issued.json["access_token"]
    answers = [
        issued,
        client.post("/oauth/token", data=grant, headers={"Authorization": "Basic eDp5"}),
        client.post("/oauth/introspect", data={"token": token}, headers=basic_auth),
        client.post("/oauth/revoke", data={"token": token}, headers=basic_auth),
    ]
    assert [a.status_code for a in answers] == [200, 401, 200, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
