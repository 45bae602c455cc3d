"""Every console route checks who is signed in and for which organization: nobody signed in is
sent to the sign-in page, a member of another organization gets a 404, a role without the
route's permission a 403. A console route added without a case here fails the first test."""

from __future__ import annotations

import pytest

from consent_service import create_app
from consent_service.extensions import db as _db
from consent_service.organizations.service import get_organization
from consent_service.rights import service
from consent_service.staff.roles import ROLES
from tests.factories import make_org, make_subject
from tests.staff.test_console_sign_in import enrol, invite, sign_in

#: The routes open to anyone: signing in, enrolling, resetting a password, signing out.
PUBLIC = {
    "console.sign_in_form",
    "console.sign_in",
    "console.second_factor_form",
    "console.second_factor",
    "console.totp_setup",
    "console.confirm_totp",
    "console.enrol_form",
    "console.enrol",
    "console.reset_form",
    "console.request_reset",
    "console.reset_password_form",
    "console.reset_password",
    "console.sign_out",
}
#: Each signed-in route: how to call it for the organization "shop" (``{request}``: one of its
#: requests), and the permission it needs.
CASES = {
    "console.home": ("GET", "/console/shop/", "requests:read"),
    "console.queue": ("GET", "/console/shop/requests", "requests:read"),
    "console.request_detail": ("GET", "/console/shop/requests/{request}", "requests:read"),
}


def _console_endpoints() -> set[str]:
    app = create_app(
        {"TESTING": True, "ENV": "testing", "SECRET_KEY": "routes-only", "SQLALCHEMY_DATABASE_URI": "sqlite://",
         "BASE_URL": "http://127.0.0.1", "WEBHOOK_DISPATCH": "off"}
    )  # fmt: skip
    with app.app_context():
        endpoints = {
            rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.")
        }
        _db.engine.dispose()
    return endpoints


ENDPOINTS = _console_endpoints()


def test_every_console_route_has_a_case():
    assert PUBLIC | set(CASES) == ENDPOINTS, "add the new route to CASES (or PUBLIC) above"


@pytest.fixture
def world(db, clock):
    shop = make_org(clock.now(), "shop")
    make_org(clock.now(), "other")
    make_subject(shop, clock.now(), "u-1")
    request = service.create_request(shop, "u-1", "access", clock.now(), identity_verified_by="company",
                                     client_id="cs_x")  # fmt: skip
    _db.session.commit()
    return request.public_id


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_nobody_signed_in_is_sent_to_sign_in(client, world, endpoint):
    method, path, _ = CASES[endpoint]
    answer = client.open(path.format(request=world), method=method)
    assert answer.status_code == 302 and answer.location.startswith("/console/shop/sign-in")


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_member_of_another_organization_gets_a_404(client, world, clock, endpoint):
    other = get_organization("other")
    _, link = invite(other, clock, email="officer@other.example")
    enrol(client, link)
    assert sign_in(client, email="officer@other.example", slug="other").status_code == 303
    method, path, _ = CASES[endpoint]
    assert client.open(path.format(request=world), method=method).status_code == 404


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_each_role_holding_the_permission_gets_in(client, world, clock, endpoint):
    method, path, permission = CASES[endpoint]
    shop = get_organization("shop")
    for code, held in ROLES.items():
        if held.requires_second_factor:
            continue  # admins sign in with TOTP: covered in test_console_sign_in
        email = f"{code}@shop.example"
        _, link = invite(shop, clock, role=code, email=email)
        enrol(client, link)
        assert sign_in(client, email=email).status_code == 303
        status = client.open(path.format(request=world), method=method).status_code
        assert status == (200 if held.can(permission) else 403), (code, status)
