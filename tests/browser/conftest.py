"""A real browser against the served application: Playwright driving Debian's Chromium
(``/usr/bin/chromium``; Playwright's own browser download is not used), the app served by
werkzeug on 127.0.0.1 with a fixed clock, and axe-core from ``node_modules`` (``make test``
installs it from the npm registry) injected into the page for the accessibility check.

Without Chromium these tests are skipped, unless ``STRICT_SYSTEM_CHECK=1`` (as in CI), where
they fail: CI must run them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from consent_service.consent import service as consent
from consent_service.consent import subjects
from consent_service.dashboard.service import create_link
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from tests.api.live import LiveServer, Tenant, bearer_headers, dispose, make_live_app, make_tenant
from tests.factories import make_subject

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"

if not CHROMIUM.exists() or not AXE.exists():
    if os.environ.get("STRICT_SYSTEM_CHECK") == "1":
        raise RuntimeError(f"browser tests need {CHROMIUM} and {AXE} (see .ci/run and the Makefile)")
    pytest.skip("Chromium or axe-core is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    app = make_live_app(tmp_path_factory.mktemp("browser"), MAIL_TRANSPORT="memory")
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def server(live_app):
    with LiveServer(live_app) as live:
        live_app.config["BASE_URL"] = live.url
        yield live


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Person:
    """A tenant of the live app, one of its people, and how to sign them in and ask the API."""

    server: LiveServer
    tenant: Tenant
    external_id: str
    headers: dict[str, str]
    app: object

    def link(self) -> str:
        """A fresh hand-off link (path and query) into the dashboard."""
        with self.app.app_context():
            org = db.session.query(Organization).filter_by(slug=self.tenant.slug).one()
            subject = subjects.get_subject(org, self.external_id)
            url, _ = create_link(org, subject, self.app.extensions["clock"].now())
            db.session.commit()
        return self.server.url + urlsplit(url).path

    def requests(self) -> list[tuple[str, str]]:
        """The person's rights requests as the API lists them: (type, status)."""
        answer = requests.get(f"{self.server.url}/api/v1/rights-requests", headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return [(r["type"], r["status"]) for r in answer.json()["requests"]]

    def make_request(self, request_type: str) -> str:
        """A rights request of the person, made by the company through the API; its id."""
        answer = requests.post(
            f"{self.server.url}/api/v1/rights-requests",
            json={"subject": self.external_id, "type": request_type, "identity_verified_by": "company"},
            headers=self.headers,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def unverified_request(self, request_type: str) -> str:
        """A rights request the company passes on without vouching for the requester (a code
        is mailed to them); its id."""
        answer = requests.post(
            f"{self.server.url}/api/v1/rights-requests",
            json={"subject": self.external_id, "type": request_type},
            headers=self.headers,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def decision(self, purpose: str) -> dict:
        """The API's decision for this person and purpose now."""
        answer = requests.get(
            f"{self.server.url}/api/v1/subjects/{self.external_id}/decisions/{purpose}",
            headers=self.headers,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def allowed(self, purpose: str) -> bool:
        """Whether the API allows this person's information to be processed for ``purpose`` now."""
        return self.decision(purpose)["allowed"]


_count = iter(range(1, 10_000))


@pytest.fixture
def person(live_app, server) -> Person:
    """A new organization (marketing, face, orders; policy v1) with a person who consented to
    marketing through the company's app."""
    n = next(_count)
    tenant = make_tenant(live_app, slug=f"browser-shop-{n}")
    with live_app.app_context():
        org = db.session.query(Organization).filter_by(slug=tenant.slug).one()
        clock = live_app.extensions["clock"]
        subject = make_subject(org, clock.now(), "u-1", email="u1@example.cn")
        consent.record_act(org, subject, clock.now(), purposes=["marketing"], action="grant",
                           consent_type="explicit", method="app", is_subject_initiated=True)  # fmt: skip
        db.session.commit()
    headers = bearer_headers(live_app.test_client(), tenant)
    return Person(server, tenant, "u-1", headers, live_app)


@pytest.fixture(params=[True, False], ids=["javascript", "no javascript"])
def page(request, browser):
    """A Chinese-speaking browser at 390 px (a phone), with and without JavaScript."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=request.param
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def axe_violations(browser, person: Person, paths: list[str], sign_in=None) -> dict[str, list[dict]]:
    """The serious and critical accessibility violations axe-core finds on each of ``paths``,
    signed in as ``person`` (or by ``sign_in(page)``; the script is injected past the page's
    CSP, which would rightly refuse it)."""
    context = browser.new_context(bypass_csp=True, locale="zh-CN")
    found = {}
    try:
        checked = context.new_page()
        if sign_in is None:
            checked.goto(person.link())
        else:
            sign_in(checked)
        for path in paths:
            checked.goto(person.server.url + path)
            checked.add_script_tag(path=str(AXE))
            result = checked.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            found[path] = [
                {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
    finally:
        context.close()
    return found
