"""The officer's console in Chromium: an officer signs in with a password and an authenticator
code, opens the most urgent request from the queue, completes it, then verifies the next
requester, answers the manual task of a data system (which completes that request), and sees
both leave the queue. An admin enrols with two-step sign-in and publishes a material policy
change, told first how many consents it sends back for re-consent; the person's decision turns
to ``reconsent_required``. No page has a serious accessibility violation."""

from __future__ import annotations

import re

import pyotp
import pytest

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.records.verify import verify_record
from consent_service.rights import systems
from consent_service.staff import accounts
from tests.browser.conftest import Person, axe_violations

PASSWORD = "correct horse battery"


def _member(person: Person, email: str, name: str, role: str) -> tuple[str, str]:
    """A member of the person's organization, enrolled, with two-step sign-in on: the address
    and the TOTP secret."""
    app = person.app
    with app.app_context():
        clock = app.extensions["clock"]
        org = db.session.query(Organization).filter_by(slug=person.tenant.slug).one()
        member, url = accounts.invite(org, email, name, role, clock.now())
        accounts.enrol(url.rsplit("/", 1)[1], PASSWORD, clock.now())
        setup = accounts.start_totp(member, org.name_en)
        accounts.confirm_totp(member, pyotp.TOTP(setup.secret).at(clock.now()), clock.now())
        db.session.commit()
        clock.advance(seconds=60)  # the code given at set-up is spent
    return email, setup.secret


@pytest.fixture
def officer(person: Person) -> tuple[str, str]:
    """An officer who turned on two-step sign-in from their account page."""
    return _member(person, "wang.officer@shop.example", "Wang Fang", "officer")


def _sign_in(page, person: Person, email: str, secret: str) -> None:
    base = f"{person.server.url}/console/{person.tenant.slug}"
    page.goto(f"{base}/sign-in?lang=en")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/second-factor"))
    code = pyotp.TOTP(secret).at(person.app.extensions["clock"].now())
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/console/{person.tenant.slug}/\?"))


def _queue_ids(page) -> list[str]:
    page.get_by_role("link", name="Requests").first.click()
    assert page.locator("h1").inner_text() == "Requests"
    return [text.strip() for text in page.locator("tbody td small.meta").all_inner_texts()]


def test_an_officer_works_the_queue(page, person, officer):
    first = person.make_request("access")  # vouched for by the company: its clock runs
    with person.app.app_context():
        org = db.session.query(Organization).filter_by(slug=person.tenant.slug).one()
        systems.register(org, name="Paper archive", owner="Records", categories=["basic"],
                         now=person.app.extensions["clock"].now())  # fmt: skip
        db.session.commit()
    second = person.unverified_request("deletion")  # waits for the requester's identity
    _sign_in(page, person, *officer)

    assert _queue_ids(page) == [first, second]  # soonest due first; not yet verified last
    page.locator("tbody tr").first.get_by_role("link").click()
    assert first in page.locator("dl").first.inner_text()
    page.get_by_label("Message to the requester (optional)").fill("We hold nothing else about you.")
    page.get_by_role("button", name="Complete the request").click()
    assert (
        page.get_by_role("status").inner_text() == "The request is completed and the requester has the reply."
    )
    assert _queue_ids(page) == [second]

    page.locator("tbody tr").first.get_by_role("link").click()
    page.get_by_label("I checked who the requester is", exact=False).check()
    page.get_by_role("button", name="Verify: start the legal clock").click()
    assert page.get_by_role("status").inner_text() == "The requester is verified: the legal clock runs."
    task = page.get_by_role("form", name="Answer the task of Paper archive")
    task.get_by_label("Done").check()
    task.get_by_label("When it was carried out").fill("2026-11-01T09:30")
    task.get_by_role("button", name="Record the answer").click()
    assert page.get_by_role("status").inner_text() == "The task's answer is recorded."
    assert "Completed" in page.locator("dl").first.inner_text()
    # The reply and completion record, downloaded from the request's page, verifies offline.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the request's record (PDF, signed)").click()
    pdf = download.value.path().read_bytes()
    with person.app.app_context():
        check = verify_record(pdf)
    assert check.ok and check.kind == "rights_request", check.messages
    assert _queue_ids(page) == []
    assert dict(person.requests())["deletion"] == "completed"


def test_no_console_page_has_a_serious_accessibility_violation(browser, person, officer):
    request_id = person.make_request("access")
    base = f"/console/{person.tenant.slug}"
    paths = [
        f"{base}/",
        f"{base}/requests",
        f"{base}/requests/{request_id}",
        f"{base}/requests?lang=en",
        f"{base}/subjects?q=u-",
        f"{base}/subjects/u-1",
        f"{base}/audit",
        f"{base}/account",
    ]
    found = axe_violations(browser, person, paths, sign_in=lambda page: _sign_in(page, person, *officer))
    assert found == dict.fromkeys(paths, [])


def test_an_admin_publishes_a_material_change_and_the_decision_asks_for_re_consent(page, person):
    app = person.app
    with app.app_context():
        org = db.session.query(Organization).filter_by(slug=person.tenant.slug).one()
        _, url = accounts.invite(
            org, "li.admin@shop.example", "Li Na", "admin", app.extensions["clock"].now()
        )
        db.session.commit()
    page.goto(url + "?lang=en")  # the enrolment link, as `flask staff create` prints it
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button").last.click()
    page.wait_for_url(re.compile(r"/totp-setup"))
    secret = page.locator("dd code").first.inner_text().strip()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(app.extensions["clock"].now()))
    page.get_by_role("button", name="Confirm").click()
    assert len(page.locator("ul.recovery-codes li").all()) == 10
    page.get_by_role("link", name="Continue to the console").click()

    assert person.decision("marketing")["allowed"]
    page.get_by_role("link", name="Policies").click()
    page.get_by_label("Version label").fill("v2")
    page.get_by_role("button", name="Create a draft").click()
    page.get_by_label("What changed").fill("We now also send offers by SMS.")
    page.get_by_label("Material change", exact=False).check()
    page.get_by_role("button", name="Save the draft").click()
    page.goto(page.url.split("/edit")[0] + "?lang=en")
    assert "+" in page.locator("ol.diff").first.inner_text()  # the change against v1
    page.get_by_role("link", name="Review and publish").click()
    assert "Consents that will need re-consent: 1" in page.locator("#reconsent").inner_text()
    assert person.decision("marketing")["allowed"]  # nothing is published by looking
    page.get_by_role("button", name="Publish version v2").click()
    assert "1" in page.get_by_role("status").inner_text()
    decision = person.decision("marketing")
    assert (decision["allowed"], decision["reason"]) == (False, "reconsent_required")


def test_no_admin_page_has_a_serious_accessibility_violation(browser, person):
    admin = _member(person, "li.admin@shop.example", "Li Na", "admin")
    base = f"/console/{person.tenant.slug}"
    paths = [
        f"{base}/policies",
        f"{base}/policies/v1",
        f"{base}/purposes/new",
        f"{base}/purposes/marketing/change",
        f"{base}/systems",
        f"{base}/clients",
        f"{base}/webhooks",
        f"{base}/staff",
        f"{base}/audit/verify",
    ]
    found = axe_violations(browser, person, paths, sign_in=lambda page: _sign_in(page, person, *admin))
    assert found == dict.fromkeys(paths, [])
