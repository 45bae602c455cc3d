"""The console's administration pages: data systems, API clients, webhooks and staff. Each
action changes the database, answers on the page and leaves its audit entry (identifiers, never
a secret or an address); a secret or an enrolment link is shown once; another organization's
things are a 404; bad input is a 400 with the message beside the field; the staff rules are a
409 that changes nothing; every page in both languages."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from consent_service.audit.models import AuditEntry
from consent_service.extensions import db as _db
from consent_service.oauth import service as oauth
from consent_service.oauth.models import OAuthClient
from consent_service.rights import fulfilment, service, systems, tasks
from consent_service.rights.models import DataSystem
from consent_service.rights.timeline import Actor
from consent_service.staff import accounts, management
from consent_service.staff.models import StaffMember
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_org, make_subject
from tests.staff.console_support import console_post, sign_in_as
from tests.staff.test_console_sign_in import PASSWORD, enrol, sign_in


def _own(details: dict) -> dict:
    """An entry's details but the services' own notes (``changes``), which
    tests/test_changes.py covers."""
    return {key: value for key, value in details.items() if key != "changes"}


@pytest.fixture
def org(db, clock):
    return make_org(clock.now(), "shop")


@pytest.fixture
def admin(client, org, clock) -> StaffMember:
    return sign_in_as(client, org, clock, "admin")


def entries(org, action: str) -> list[AuditEntry]:
    return list(
        _db.session.scalars(
            select(AuditEntry).where(AuditEntry.org_id == org.id, AuditEntry.action == f"console:{action}")
        )
    )


def text(answer) -> str:
    return answer.get_data(as_text=True)


def shown(answer) -> list[str]:
    """The values a page shows once."""
    return re.findall(r'<code class="shown-once">([^<]+)</code>', text(answer))


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token_status(client, client_id: str, secret: str) -> int:
    data = {"grant_type": "client_credentials"}
    return client.post("/oauth/token", data=data, headers=basic(client_id, secret)).status_code


@pytest.mark.parametrize("path", ["systems", "clients", "webhooks", "staff"])
def test_each_page_in_both_languages(client, admin, path):
    en = client.get(f"/console/shop/{path}?lang=en")
    zh = client.get(f"/console/shop/{path}?lang=zh")
    assert en.status_code == zh.status_code == 200
    assert 'aria-current="page"' in text(en)
    headings = {"systems": "数据系统", "clients": "API 客户端", "webhooks": "Webhook", "staff": "员工"}
    assert f"<h1>{headings[path]}</h1>" in text(zh)


# --- data systems ---------------------------------------------------------------------------


def test_a_system_registered_by_hand_is_listed_and_audited(client, admin, org):
    answer = console_post(
        client, "/console/shop/systems?lang=en", name="CRM", owner="IT", categories=["basic"]
    )
    assert answer.status_code == 303 and "done=registered" in answer.location
    system = _db.session.scalars(select(DataSystem).where(DataSystem.org_id == org.id)).one()
    assert (system.name, system.delivery, system.categories) == ("CRM", "manual", ["basic"])
    html = text(client.get(answer.location))
    assert "The data system is registered." in html and system.public_id in html
    (entry,) = entries(org, "system.register")
    assert (entry.actor, entry.target) == (f"staff:{admin.id}", f"data_system:{system.public_id}")
    assert entry.details["after"] == {
        "id": system.public_id, "status": "active", "delivery": "manual", "categories": ["basic"],
        "name_length": 3, "webhook_host": None,
    }  # fmt: skip


def test_a_system_with_a_webhook_shows_its_secret_once(client, admin, org):
    answer = console_post(
        client, "/console/shop/systems?lang=en", name="CRM", owner="IT", categories=["basic"],
        webhook_url="https://crm.shop.example/tasks",
    )  # fmt: skip
    assert answer.status_code == 200 and "shown only this once" in text(answer)
    system_id, secret = shown(answer)
    assert secret.startswith("whsec_")
    assert secret not in text(client.get("/console/shop/systems?lang=en"))
    (entry,) = entries(org, "system.register")
    assert entry.details["after"]["webhook_host"] == "crm.shop.example" and secret not in str(entry.details)
    assert systems.get(org, system_id).delivery == "webhook"


def test_bad_system_input_is_said_beside_each_field(client, admin, org):
    answer = console_post(client, "/console/shop/systems?lang=en", name="", owner="", webhook_url="ftp://x")
    html = text(answer)
    assert answer.status_code == 400
    for field in ("name", "owner", "categories"):
        assert f'id="{field}-error"' in html
    assert "Choose the categories of personal information" in html
    assert _db.session.scalars(select(DataSystem).where(DataSystem.org_id == org.id)).all() == []
    assert entries(org, "system.register") == []
    answer = console_post(
        client, "/console/shop/systems?lang=en", name="CRM", owner="IT", categories=["basic"],
        webhook_url="http://127.0.0.1/tasks",
    )  # fmt: skip
    assert answer.status_code == 400 and 'id="webhook_url-error"' in text(answer)
    assert "cannot be reached from this service" in text(answer)


def test_a_system_is_retired_unless_it_has_open_tasks(client, admin, org, clock, db):
    system, _ = systems.register(org, name="CRM", owner="IT", categories=["basic"], now=clock.now())
    make_subject(org, clock.now(), "u-1")
    request = service.create_request(
        org, "u-1", "access", clock.now(), identity_verified_by="company", client_id="cs_x"
    )
    db.session.commit()
    answer = console_post(client, f"/console/shop/systems/{system.public_id}/retire?lang=en")
    assert answer.status_code == 409 and "1 open tasks" in text(answer)
    assert system.retired_at is None and entries(org, "system.retire") == []
    (task,) = tasks.tasks_of(request)
    fulfilment.report(org, task.public_id, clock.now(), Actor("client", "cs_x"), outcome="no_data")
    db.session.commit()
    answer = console_post(client, f"/console/shop/systems/{system.public_id}/retire?lang=en")
    assert answer.status_code == 303
    db.session.refresh(system)
    assert system.retired_at == clock.now()
    (entry,) = entries(org, "system.retire")
    assert entry.details["before"] == {"id": system.public_id, "status": "active"}
    assert entry.details["after"]["status"] == "retired"


# --- API clients ----------------------------------------------------------------------------


def test_a_created_client_works_and_its_secret_is_shown_once(client, admin, org):
    answer = console_post(
        client, "/console/shop/clients?lang=en", name="shop backend", scopes=["consents:read"]
    )
    assert answer.status_code == 200
    client_id, secret = shown(answer)
    stored = oauth.get_client(client_id)
    assert (stored.org_id, stored.scope) == (org.id, "consents:read")
    assert token_status(client, client_id, secret) == 200
    listing = text(client.get("/console/shop/clients?lang=en"))
    assert client_id in listing and secret not in listing
    (entry,) = entries(org, "client.create")
    assert entry.target == f"oauth_client:{client_id}"
    assert _own(entry.details) == {"after": {"client_id": client_id, "scopes": ["consents:read"]}}


def test_bad_client_input_is_said_beside_each_field(client, admin, org):
    answer = console_post(client, "/console/shop/clients?lang=en", name=" ", scopes=["consents:read"])
    assert answer.status_code == 400 and 'id="name-error"' in text(answer)
    assert 'consents:read" checked' in text(answer)  # what was chosen is kept
    answer = console_post(client, "/console/shop/clients?lang=en", name="backend")
    assert answer.status_code == 400 and "Choose at least one scope." in text(answer)
    assert 'value="backend"' in text(answer)
    assert oauth.list_clients(org) == [] and entries(org, "client.create") == []


def test_a_rotated_secret_replaces_the_old_one_and_a_revoked_client_stops(client, admin, org, clock, db):
    issued = oauth.create_client(org, "backend", ["consents:read"], clock.now())
    client_id, old = issued.client.client_id, issued.client_secret
    db.session.commit()
    answer = console_post(client, f"/console/shop/clients/{client_id}/rotate?lang=en")
    assert answer.status_code == 200
    _, new = shown(answer)
    assert new != old
    assert token_status(client, client_id, old) == 401 and token_status(client, client_id, new) == 200
    (entry,) = entries(org, "client.rotate")
    assert entry.details["before"]["secret_rotated_at"] is None
    assert entry.details["after"]["secret_rotated_at"] == clock.now().isoformat()
    answer = console_post(client, f"/console/shop/clients/{client_id}/revoke?lang=en")
    assert answer.status_code == 303
    assert db.session.get(OAuthClient, issued.client.id).revoked_at == clock.now()
    assert token_status(client, client_id, new) == 401
    (entry,) = entries(org, "client.revoke")
    assert entry.details["before"]["revoked_at"] is None and entry.details["after"]["revoked_at"]
    assert console_post(client, f"/console/shop/clients/{client_id}/rotate?lang=en").status_code == 409


def test_another_organizations_client_is_a_404(client, admin, clock, db):
    other = make_org(clock.now(), "other")
    issued = oauth.create_client(other, "theirs", ["consents:read"], clock.now())
    db.session.commit()
    for action in ("rotate", "revoke"):
        path = f"/console/shop/clients/{issued.client.client_id}/{action}"
        assert console_post(client, path).status_code == 404
    assert issued.client.revoked_at is None and issued.client.secret_rotated_at is None
    assert issued.client.client_id not in text(client.get("/console/shop/clients?lang=en"))


# --- webhooks -------------------------------------------------------------------------------


def test_an_endpoint_is_created_with_its_secret_shown_once(client, admin, org):
    answer = console_post(
        client, "/console/shop/webhooks?lang=en", url="https://hooks.shop.example/in",
        events=["consent.granted", "consent.withdrawn"],
    )  # fmt: skip
    assert answer.status_code == 200
    endpoint_id, secret = shown(answer)
    endpoint = webhooks.get_endpoint(org, endpoint_id)
    assert endpoint.events == ["consent.granted", "consent.withdrawn"]
    assert secret not in text(client.get("/console/shop/webhooks?lang=en"))
    assert secret not in text(client.get(f"/console/shop/webhooks/{endpoint_id}?lang=en"))
    (entry,) = entries(org, "webhook.create")
    assert entry.details["after"] == {
        "id": endpoint_id, "host": "hooks.shop.example", "events": ["consent.granted", "consent.withdrawn"],
    }  # fmt: skip


def test_bad_endpoint_input_is_said_beside_each_field(client, admin, org):
    answer = console_post(client, "/console/shop/webhooks?lang=en", url="http://10.0.0.1/in", events=["*"])
    assert answer.status_code == 400 and 'id="url-error"' in text(answer)
    assert "cannot be reached from this service" in text(answer)
    answer = console_post(client, "/console/shop/webhooks?lang=en", url="https://hooks.shop.example/in")
    assert answer.status_code == 400 and 'id="events-error"' in text(answer)
    assert webhooks.list_endpoints(org) == [] and entries(org, "webhook.create") == []


def test_an_endpoint_page_lists_deliveries_and_sends_one_again(client, admin, org, clock, db):
    endpoint, _ = webhooks.create_endpoint(org, "https://hooks.shop.example/in", ["*"], clock.now())
    webhooks.emit(org, "policy.published", {"policy": "v1"}, clock.now())
    (delivery,) = webhooks.list_deliveries(org, endpoint.public_id)
    delivery.status, delivery.attempts, delivery.last_status_code = "failed", 8, 503
    db.session.commit()
    path = f"/console/shop/webhooks/{endpoint.public_id}"
    html = text(client.get(path + "?lang=en"))
    assert delivery.public_id in html and "policy.published" in html and "503" in html
    assert "<h1>Webhook 端点</h1>" in text(client.get(path + "?lang=zh"))
    answer = console_post(client, f"{path}/deliveries/{delivery.public_id}/redeliver?lang=en")
    assert answer.status_code == 303
    rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)).all()
    new = next(d for d in rows if d.public_id != delivery.public_id)
    assert (len(rows), new.status, new.attempts, new.event_id) == (2, "pending", 0, delivery.event_id)
    assert "The delivery is queued again." in text(client.get(answer.location))
    (entry,) = entries(org, "webhook.redeliver")
    assert entry.target == f"webhook_delivery:{delivery.public_id}"
    after = {"endpoint": endpoint.public_id, "delivery": new.public_id, "status": "pending"}
    assert _own(entry.details) == {"after": after}
    assert console_post(client, f"{path}/deliveries/whd_unknown/redeliver").status_code == 404


def test_an_endpoint_is_deleted(client, admin, org, clock, db):
    endpoint, _ = webhooks.create_endpoint(org, "https://hooks.shop.example/in", ["*"], clock.now())
    db.session.commit()
    answer = console_post(client, f"/console/shop/webhooks/{endpoint.public_id}/delete?lang=en")
    assert answer.status_code == 303
    assert db.session.get(WebhookEndpoint, endpoint.id).deleted_at == clock.now()
    assert client.get(f"/console/shop/webhooks/{endpoint.public_id}").status_code == 404
    (entry,) = entries(org, "webhook.delete")
    before = {"id": endpoint.public_id, "host": "hooks.shop.example", "events": ["*"]}
    assert entry.details["before"] == before


def test_another_organizations_endpoint_and_system_are_a_404(client, admin, clock, db):
    other = make_org(clock.now(), "other")
    endpoint, _ = webhooks.create_endpoint(other, "https://hooks.other.example/in", ["*"], clock.now())
    webhooks.emit(other, "policy.published", {"policy": "v1"}, clock.now())
    (delivery,) = webhooks.list_deliveries(other, endpoint.public_id)
    system, _ = systems.register(other, name="CRM", owner="IT", categories=["basic"], now=clock.now())
    db.session.commit()
    path = f"/console/shop/webhooks/{endpoint.public_id}"
    assert client.get(path).status_code == 404
    assert console_post(client, f"{path}/delete").status_code == 404
    assert console_post(client, f"{path}/deliveries/{delivery.public_id}/redeliver").status_code == 404
    assert console_post(client, f"/console/shop/systems/{system.public_id}/retire").status_code == 404
    assert endpoint.deleted_at is None and system.retired_at is None


# --- staff ----------------------------------------------------------------------------------


def test_an_invited_member_gets_a_link_shown_once_that_enrols_them(client, admin, org, app):
    answer = console_post(
        client,
        "/console/shop/staff?lang=en",
        email="Wang.Fang@shop.example",
        name="Wang Fang",
        role="officer",
    )
    assert answer.status_code == 200
    (link,) = shown(answer)
    member = accounts.find_member(org, "wang.fang@shop.example")
    assert member.role == "officer" and link.startswith("https://consent.test/console/enrol/")
    listing = text(client.get("/console/shop/staff?lang=en"))
    assert "Wang Fang" in listing and link not in listing
    (entry,) = entries(org, "staff.invite")
    assert entry.target == f"staff_member:{member.id}"
    assert _own(entry.details) == {"after": {"id": member.id, "role": "officer"}}
    assert "wang" not in str(entry.details).lower()
    other = app.test_client()
    assert enrol(other, link.split("consent.test", 1)[1]).status_code == 303
    assert sign_in(other, email="wang.fang@shop.example").status_code == 303


def test_bad_invitations_are_said_beside_the_field(client, admin, org):
    answer = console_post(client, "/console/shop/staff?lang=en", email="not-an-address", role="boss")
    assert answer.status_code == 400
    assert 'id="email-error"' in text(answer) and 'id="role-error"' in text(answer)
    answer = console_post(client, "/console/shop/staff?lang=en", email="admin@shop.example", role="officer")
    assert answer.status_code == 409 and "already has this address" in text(answer)
    assert entries(org, "staff.invite") == []


def test_the_list_shows_each_members_role_factor_lock_and_sign_in(client, admin, org, clock, db):
    member, _ = accounts.invite(org, "locked@shop.example", "Locked One", "auditor", clock.now())
    member.locked_until = clock.now().replace(hour=clock.now().hour + 1)
    db.session.commit()
    html = text(client.get("/console/shop/staff?lang=en"))
    assert "Locked One" in html and "locked@shop.example" in html
    assert "Unlock" in html and html.count(">on<") == 1  # the admin's TOTP


def test_a_role_is_changed_and_a_new_admin_sets_up_totp_at_the_next_sign_in(client, admin, org, clock, app):
    colleague = app.test_client()
    member = sign_in_as(colleague, org, clock, "officer", email="colleague@shop.example")
    assert colleague.get("/console/shop/?lang=en").status_code == 200
    answer = console_post(client, f"/console/shop/staff/{member.id}/role?lang=en", role="admin")
    assert answer.status_code == 303
    _db.session.refresh(member)
    assert member.role == "admin"
    (entry,) = entries(org, "staff.role")
    assert (entry.target, entry.details) == (
        f"staff_member:{member.id}", {"before": {"role": "officer"}, "after": {"role": "admin"}},
    )  # fmt: skip
    # without TOTP the admin's session ends, and signing in again asks to set it up
    assert colleague.get("/console/shop/?lang=en").status_code == 302
    answer = sign_in(colleague, email="colleague@shop.example", password=PASSWORD)
    assert answer.status_code == 303 and "/sign-in/totp-setup" in answer.location
    answer = console_post(client, f"/console/shop/staff/{member.id}/role?lang=en", role="boss")
    assert answer.status_code == 400 and f'id="role-{member.id}-error"' in text(answer)


def test_an_admin_cannot_demote_or_disable_themselves(client, admin, org):
    for action, data in (("role", {"role": "officer"}), ("disable", {})):
        answer = console_post(client, f"/console/shop/staff/{admin.id}/{action}?lang=en", **data)
        assert answer.status_code == 409
    assert "You cannot disable your own account." in text(answer)
    _db.session.refresh(admin)
    assert (admin.role, admin.disabled_at) == ("admin", None)
    assert entries(org, "staff.role") == entries(org, "staff.disable") == []
    zh = console_post(client, f"/console/shop/staff/{admin.id}/role?lang=zh", role="officer")
    assert zh.status_code == 409


def test_the_last_admin_cannot_be_demoted_or_disabled(client, admin, org, clock, db):
    officer, _ = accounts.invite(org, "o@shop.example", "O", "officer", clock.now())
    with pytest.raises(management.LastAdministrator):
        management.change_role(officer, admin, "officer")
    with pytest.raises(management.LastAdministrator):
        management.disable(officer, admin, clock.now())
    assert (admin.role, admin.disabled_at) == ("admin", None)
    # an admin invited but not enrolled cannot sign in, so does not count
    other, _ = accounts.invite(org, "a2@shop.example", "A2", "admin", clock.now())
    with pytest.raises(management.LastAdministrator):
        management.disable(officer, admin, clock.now())
    other.password_hash = "enrolled"
    management.disable(officer, admin, clock.now())
    assert admin.disabled_at == clock.now()


def test_a_member_is_disabled_enabled_and_unlocked(client, admin, org, clock, app, db):
    colleague = app.test_client()
    member = sign_in_as(colleague, org, clock, "officer", email="colleague@shop.example")
    answer = console_post(client, f"/console/shop/staff/{member.id}/disable?lang=en")
    assert answer.status_code == 303 and "The account is disabled." in text(client.get(answer.location))
    db.session.refresh(member)
    assert member.disabled_at == clock.now()
    assert colleague.get("/console/shop/?lang=en").status_code == 302  # signed out at once
    assert sign_in(colleague, email="colleague@shop.example").status_code == 401
    assert console_post(client, f"/console/shop/staff/{member.id}/enable?lang=en").status_code == 303
    db.session.refresh(member)
    assert member.disabled_at is None
    assert sign_in(colleague, email="colleague@shop.example").status_code == 303
    member.locked_until, member.failed_attempts = clock.now().replace(hour=23), 3
    db.session.commit()
    assert console_post(client, f"/console/shop/staff/{member.id}/unlock?lang=en").status_code == 303
    db.session.refresh(member)
    assert (member.locked_until, member.failed_attempts) == (None, 0)
    disabled, enabled, unlocked = (entries(org, f"staff.{a}")[0] for a in ("disable", "enable", "unlock"))
    after = {"disabled_at": clock.now().isoformat()}
    assert _own(disabled.details) == {"before": {"disabled_at": None}, "after": after}
    assert enabled.details["after"] == {"disabled_at": None}
    assert unlocked.details["before"]["failed_attempts"] == 3
    assert unlocked.details["after"] == {"locked_until": None, "failed_attempts": 0}


def test_another_organizations_member_is_a_404(client, admin, clock, db):
    other = make_org(clock.now(), "other")
    member, _ = accounts.invite(other, "theirs@other.example", "Theirs", "officer", clock.now())
    db.session.commit()
    for action in ("role", "disable", "enable", "unlock"):
        answer = console_post(client, f"/console/shop/staff/{member.id}/{action}", role="admin")
        assert answer.status_code == 404
    assert (member.role, member.disabled_at) == ("officer", None)
    assert "Theirs" not in text(client.get("/console/shop/staff?lang=en"))
