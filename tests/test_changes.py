"""What a unit of work changed, noted by the services: collected only where a writer records
it, capped, and carried into the audit entries of the API (and so of commands and forms)."""

from __future__ import annotations

from sqlalchemy import select

from consent_service import changes
from consent_service.audit.models import AuditEntry
from tests.cli_support import assert_ok, run
from tests.factories import make_org


def test_notes_are_collected_only_inside_collecting():
    changes.note("thing:1", {"status": "a"}, {"status": "b"})  # nobody collects: dropped
    with changes.collecting() as outer:
        changes.note("thing:1", {"status": "a"}, {"status": "b"})
        with changes.collecting() as inner:
            changes.note("thing:2", None, {"status": "new"})
    assert outer.details() == {
        "changes": [{"target": "thing:1", "before": {"status": "a"}, "after": {"status": "b"}}]
    }
    assert inner.details() == {"changes": [{"target": "thing:2", "before": None, "after": {"status": "new"}}]}
    assert changes.Changes().details() == {}


def test_a_unit_of_work_keeps_at_most_the_limit_and_counts_the_rest():
    with changes.collecting() as noted:
        for n in range(changes.LIMIT + 5):
            changes.note(f"thing:{n}", None, {"n": n})
    details = noted.details()
    assert len(details["changes"]) == changes.LIMIT and details["more_changes"] == 5


def test_an_api_write_records_the_status_it_changed(client, db, api, clock):
    client.put("/api/v1/subjects/u-1", json={"email": "person@example.cn"}, headers=api.headers)
    created = client.post(
        "/api/v1/rights-requests",
        json={"subject": "u-1", "type": "access", "identity_verified_by": "company"},
        headers=api.headers,
    )
    assert created.status_code == 201, created.get_json()
    rid = created.get_json()["id"]
    paused = client.post(f"/api/v1/rights-requests/{rid}/pause", json={"reason": "Which account?"},
                         headers=api.headers)  # fmt: skip
    assert paused.status_code == 200, paused.get_json()
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "api:POST /rights-requests/<request_id>/pause")
    ).one()
    assert entry.details == {
        "changes": [
            {"target": f"rights_request:{rid}", "before": {"status": "in_progress"},
             "after": {"status": "awaiting_requester"}},
        ]
    }  # fmt: skip
    first = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "api:POST /rights-requests")
    ).one()
    assert first.details["changes"][0] == {
        "target": f"rights_request:{rid}", "before": None, "after": {"type": "access", "status": "received"}
    }  # fmt: skip
    assert "Which account?" not in repr(entry.details)


def test_a_command_records_what_it_changed(cli, db, clock):
    make_org(clock.now(), "noted-shop")
    db.session.commit()
    assert_ok(
        run(cli, "clients", "create", "--org", "noted-shop", "--name", "backend", "--scopes", "consents:read")
    )
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "command:clients create")).one()
    [change] = entry.details["changes"]
    assert change["target"].startswith("oauth_client:cs_")
    assert (change["before"], change["after"]) == (None, {"scope": "consents:read"})
