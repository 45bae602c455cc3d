"""Every console route checks who is signed in and for which organization: nobody signed in is
sent to the sign-in page (a post gets a 401), a member of another organization gets a 404, a
role without the route's permission a 403, each role holding it gets in, and no cache may keep
any answer. A console route (of any ``console*`` blueprint) added without a case here fails the
first test."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consent_service import create_app
from consent_service.console.request_actions import ACTIONS
from consent_service.exports import jobs as export_jobs
from consent_service.exports import service as exports
from consent_service.exports.rows import export_period
from consent_service.extensions import db as _db
from consent_service.oauth import service as oauth
from consent_service.organizations.service import get_organization
from consent_service.policies import service as policies
from consent_service.receipts.models import ConsentReceipt
from consent_service.rights import service, systems
from consent_service.rights.models import RightsTask
from consent_service.staff import accounts
from consent_service.staff.roles import ROLES
from consent_service.webhooks import service as webhooks
from tests.factories import grant, make_org, make_purpose, make_subject, publish_policy
from tests.staff.console_support import console_post, sign_in_as

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
#: Each signed-in route: how to call it for the organization "shop" (the ``{names}`` are the
#: keys of the ``world`` fixture: things of that organization), and the permission it needs.
CASES = {
    "console.home": ("GET", "/console/shop/", "requests:read"),
    "console.queue": ("GET", "/console/shop/requests", "requests:read"),
    "console.request_detail": ("GET", "/console/shop/requests/{request}", "requests:read"),
    **{
        f"console_requests.request_{action}": (
            "POST",
            f"/console/shop/requests/{{request}}/{action.replace('_', '-')}",
            "requests:work",
        )
        for action in ACTIONS
    },
    "console_account.account": ("GET", "/console/shop/account", "requests:read"),
    "console_account.start_totp": ("POST", "/console/shop/account/totp", "requests:read"),
    "console_account.confirm_totp": ("POST", "/console/shop/account/totp/confirm", "requests:read"),
    "console_requests.answer_task": (
        "POST",
        "/console/shop/requests/{request}/tasks/{task}",
        "requests:work",
    ),
    "console_policies.index": ("GET", "/console/shop/policies", "purposes:manage"),
    "console_policies.create_draft": ("POST", "/console/shop/policies", "purposes:manage"),
    "console_policies.policy": ("GET", "/console/shop/policies/{draft}", "purposes:manage"),
    "console_policies.edit_form": ("GET", "/console/shop/policies/{draft}/edit", "purposes:manage"),
    "console_policies.edit": ("POST", "/console/shop/policies/{draft}/edit", "purposes:manage"),
    "console_policies.publish_form": ("GET", "/console/shop/policies/{draft}/publish", "purposes:manage"),
    "console_policies.publish": ("POST", "/console/shop/policies/{draft}/publish", "purposes:manage"),
    "console_policies.new_purpose_form": ("GET", "/console/shop/purposes/new", "purposes:manage"),
    "console_policies.create_purpose": ("POST", "/console/shop/purposes", "purposes:manage"),
    "console_policies.purpose_form": ("GET", "/console/shop/purposes/{purpose}/change", "purposes:manage"),
    "console_policies.change_purpose": ("POST", "/console/shop/purposes/{purpose}/change", "purposes:manage"),
    "console_audit.trail": ("GET", "/console/shop/audit", "audit:read"),
    "console_audit.verify": ("GET", "/console/shop/audit/verify", "audit:read"),
    "console_audit.export_csv": ("GET", "/console/shop/audit/export.csv", "records:export"),
    "console_audit.export_jsonl": ("GET", "/console/shop/audit/export.jsonl", "records:export"),
    "console_subjects.search": ("GET", "/console/shop/subjects?q=u-", "subjects:read"),
    "console_subjects.subject": ("GET", "/console/shop/subjects/{subject}", "subjects:read"),
    "console_settings.data_systems": ("GET", "/console/shop/systems", "systems:manage"),
    "console_settings.register_system": ("POST", "/console/shop/systems", "systems:manage"),
    "console_settings.retire_system": ("POST", "/console/shop/systems/{system}/retire", "systems:manage"),
    "console_settings.clients": ("GET", "/console/shop/clients", "clients:manage"),
    "console_settings.create_client": ("POST", "/console/shop/clients", "clients:manage"),
    "console_settings.rotate_client": ("POST", "/console/shop/clients/{client}/rotate", "clients:manage"),
    "console_settings.revoke_client": ("POST", "/console/shop/clients/{client}/revoke", "clients:manage"),
    "console_settings.webhook_endpoints": ("GET", "/console/shop/webhooks", "clients:manage"),
    "console_settings.create_webhook": ("POST", "/console/shop/webhooks", "clients:manage"),
    "console_settings.webhook": ("GET", "/console/shop/webhooks/{webhook}", "clients:manage"),
    "console_settings.delete_webhook": ("POST", "/console/shop/webhooks/{webhook}/delete", "clients:manage"),
    "console_settings.redeliver": (
        "POST",
        "/console/shop/webhooks/{webhook}/deliveries/{delivery}/redeliver",
        "clients:manage",
    ),
    "console_exports.exports": ("GET", "/console/shop/exports", "records:export"),
    "console_exports.request_export": ("POST", "/console/shop/exports", "records:export"),
    "console_exports.download": ("GET", "/console/shop/exports/{export}/download", "records:export"),
    "console_staff.staff": ("GET", "/console/shop/staff", "staff:manage"),
    "console_staff.invite": ("POST", "/console/shop/staff", "staff:manage"),
    "console_staff.change_role": ("POST", "/console/shop/staff/{member}/role", "staff:manage"),
    "console_staff.disable_member": ("POST", "/console/shop/staff/{member}/disable", "staff:manage"),
    "console_staff.enable_member": ("POST", "/console/shop/staff/{member}/enable", "staff:manage"),
    "console_staff.unlock_member": ("POST", "/console/shop/staff/{member}/unlock", "staff:manage"),
    "console_records.records": ("GET", "/console/shop/records", "records:export"),
    "console_records.processing_record": ("GET", "/console/shop/records/processing.pdf", "records:export"),
    "console_records.policy_archive": ("GET", "/console/shop/records/policies.pdf", "records:export"),
    "console_records.compliance_report": ("GET", "/console/shop/records/report.pdf", "records:export"),
    "console_records.report_form": ("POST", "/console/shop/records/report", "records:export"),
    "console_records.request_record": (
        "GET",
        "/console/shop/requests/{request}/record.pdf",
        "records:export",
    ),
    "console_records.subject_record": (
        "GET",
        "/console/shop/subjects/{subject}/record.pdf",
        "records:export",
    ),
    "console_records.receipt_record": ("GET", "/console/shop/receipts/{receipt}.pdf", "records:export"),
}


def _console_endpoints() -> set[str]:
    app = create_app(
        {"TESTING": True, "ENV": "testing", "SECRET_KEY": "routes-only", "SQLALCHEMY_DATABASE_URI": "sqlite://",
         "BASE_URL": "http://127.0.0.1", "WEBHOOK_DISPATCH": "off"}
    )  # fmt: skip
    with app.app_context():
        endpoints = {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if rule.endpoint.split(".", 1)[0].startswith("console")
        }
        _db.engine.dispose()
    return endpoints


ENDPOINTS = _console_endpoints()


def test_every_console_route_has_a_case():
    assert PUBLIC | set(CASES) == ENDPOINTS, "add the new route to CASES (or PUBLIC) above"


@pytest.fixture
def world(db, clock) -> dict[str, str]:
    """One of each thing a console route can name, in "shop"; another organization beside it."""
    shop = make_org(clock.now(), "shop")
    make_org(clock.now(), "other")
    person = make_subject(shop, clock.now(), "u-1")
    systems.register(shop, name="Archive", owner="Records", categories=["basic"], now=clock.now())
    request = service.create_request(shop, "u-1", "access", clock.now(), identity_verified_by="company",
                                     client_id="cs_x")  # fmt: skip
    make_purpose(shop, clock.now(), "marketing")
    publish_policy(shop, clock.now(), "v1")
    grant(shop, person, clock.now(), "marketing")
    policies.create_policy(shop, {"label": "v2", "purposes": ["marketing"]}, clock.now())
    system, _ = systems.register(shop, name="CRM", owner="IT", categories=["basic"], now=clock.now())
    client = oauth.create_client(shop, "backend", ["consents:read"], clock.now()).client
    endpoint, _ = webhooks.create_endpoint(shop, "https://hooks.shop.example/in", ["*"], clock.now())
    webhooks.emit(shop, "policy.published", {"policy": "v1"}, clock.now())
    delivery = webhooks.list_deliveries(shop, endpoint.public_id)[0]
    member, _ = accounts.invite(shop, "colleague@shop.example", "Colleague", "auditor", clock.now())
    period = export_period({"from": "2026-11-01", "to": "2026-11-02"}, shop.timezone)
    export = exports.request_export(shop, "consent_events", "csv", period, None, clock.now())
    _db.session.commit()
    export_jobs.run_exports()
    task = _db.session.scalars(select(RightsTask)).one()
    receipt = _db.session.scalars(select(ConsentReceipt)).one()
    return {
        "request": request.public_id,
        "task": task.public_id,
        "draft": "v2",
        "purpose": "marketing",
        "subject": "u-1",
        "system": system.public_id,
        "client": client.client_id,
        "webhook": endpoint.public_id,
        "delivery": delivery.public_id,
        "member": str(member.id),
        "receipt": receipt.receipt_id,
        "export": export.public_id,
    }


def _call(client, endpoint: str, world: dict[str, str]):
    method, path, _ = CASES[endpoint]
    path = path.format(**world)
    if method == "GET":
        return client.get(path)
    return console_post(client, path)


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_nobody_signed_in_is_sent_to_sign_in(client, world, endpoint):
    answer = _call(client, endpoint, world)
    if CASES[endpoint][0] == "GET":
        assert answer.status_code == 302 and answer.location.startswith("/console/shop/sign-in")
    else:
        assert answer.status_code == 401


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_member_of_another_organization_gets_a_404(client, world, clock, endpoint):
    sign_in_as(client, get_organization("other"), clock, "admin")
    assert _call(client, endpoint, world).status_code == 404


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_each_role_holding_the_permission_gets_in(client, world, clock, endpoint):
    method, _, permission = CASES[endpoint]
    shop = get_organization("shop")
    for code, held in ROLES.items():
        sign_in_as(client, shop, clock, code)
        answer = _call(client, endpoint, world)
        answer.get_data()  # a streamed export is read to its end before the next request
        status = answer.status_code
        assert "no-store" in answer.headers.get("Cache-Control", ""), (code, "kept by a cache")
        if not held.can(permission):
            assert status == 403, (code, status)
        elif method == "GET":
            assert status == 200, (code, status)
        else:  # the action may be refused for what it asks (400, 409), never for who asks
            assert status not in (401, 403, 404) and status < 500, (code, status)
