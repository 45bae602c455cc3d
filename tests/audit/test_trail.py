"""The audit trail: who did what, a hash chain per organization (PIPL 51, 54; GB/T 35273 11.7).

What is recorded (an API write, a command, a job run; never a read), that no personal data is
kept, that ``flask audit verify`` names an edited, deleted or renumbered entry, and that two
writers at once on PostgreSQL keep the chain gapless.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from consent_service.audit import trail
from consent_service.audit.models import AuditEntry, AuditHead
from consent_service.audit.report import VerifyReport
from consent_service.audit.trail_checks import verify_trail
from consent_service.extensions import db as _db
from consent_service.unit_of_work import unit_of_work
from tests.audit.tampering import tamper
from tests.cli_support import assert_ok, run
from tests.conftest import IS_POSTGRES
from tests.factories import make_org, make_purpose, make_subject

EMAIL, PHONE = "person@example.cn", "+86 138 0013 8000"


def entries(db, org_id):
    """The trail of ``org_id`` (``None``: the service's) in order."""
    where = AuditEntry.org_id.is_(None) if org_id is None else AuditEntry.org_id == org_id
    return list(db.session.scalars(select(AuditEntry).where(where).order_by(AuditEntry.seq)))


def problems(org_id) -> list[str]:
    report = VerifyReport(org="test")
    verify_trail(org_id, report)
    return report.problems


def test_an_api_write_records_one_entry_with_its_client_and_route(client, db, api):
    response = client.put("/api/v1/subjects/u-1", json={"email": EMAIL, "phone": PHONE}, headers=api.headers)
    assert response.status_code == 201

    [entry] = entries(db, api.org.id)
    assert (entry.actor_kind, entry.actor) == ("client", api.client_id)
    assert entry.action == "api:PUT /subjects/<external_id>"
    assert (entry.target, entry.outcome) == ("external_id:u-1", "201")
    assert (entry.seq, entry.prev_hash) == (1, None)
    assert problems(api.org.id) == []


def test_a_read_records_nothing(client, db, api):
    client.put("/api/v1/subjects/u-1", json={"email": EMAIL}, headers=api.headers)
    before = len(entries(db, api.org.id))

    assert client.get("/api/v1/subjects/u-1", headers=api.headers).status_code == 200
    assert len(entries(db, api.org.id)) == before


def test_a_failed_write_records_nothing(client, db, api):
    response = client.put("/api/v1/subjects/u-1", json={"email": "not an address"}, headers=api.headers)
    assert response.status_code == 422
    assert entries(db, api.org.id) == []


def test_entries_hold_no_personal_data(client, db, api):
    client.put("/api/v1/subjects/u-1", json={"email": EMAIL, "phone": PHONE}, headers=api.headers)
    client.put("/api/v1/subjects/u-1", json={"email": "other@example.cn"}, headers=api.headers)

    rows = db.session.execute(text("SELECT * FROM audit_entry")).all()
    assert len(rows) == 2
    dumped = repr(rows)
    for personal in (EMAIL, PHONE, "other@example.cn", "example.cn"):
        assert personal not in dumped


def test_a_command_records_its_name(cli, db):
    assert_ok(run(cli, "orgs", "create", "trail-shop", "--name", "Trail Shop", "--contact-email", EMAIL))

    [entry] = entries(db, None)
    assert (entry.actor_kind, entry.actor, entry.action) == ("command", "orgs create", "command:orgs create")
    assert (entry.target, entry.outcome) == ("organization:trail-shop", "ok")
    assert EMAIL not in repr(db.session.execute(text("SELECT * FROM audit_entry")).all())


def test_a_job_run_records_its_counts_and_a_quiet_run_nothing(cli, db, clock):
    org = make_org(clock.now(), "trail-jobs")
    make_purpose(org, clock.now(), "promo")
    make_subject(org, clock.now(), "trail-user")
    db.session.commit()

    assert_ok(run(cli, "scheduler", "run", "--once"))
    db.session.expire_all()
    jobs = [e for e in entries(db, None) if e.actor_kind == "job"]
    assert [e.action for e in jobs] == ["job:checkpoints", "job:ledger_verification"]
    assert jobs[0].details == {"result": {"trail-jobs": 1}}
    assert jobs[1].details == {"result": {"trail-jobs": True}}  # verified, intact

    assert_ok(run(cli, "scheduler", "run", "--once"))  # nothing to do: nothing recorded
    db.session.expire_all()
    assert len([e for e in entries(db, None) if e.actor_kind == "job"]) == 2
    assert problems(None) == []


@pytest.fixture
def trail_of_five(db, clock):
    org = make_org(clock.now())
    for n in range(5):
        trail.record(org.id, "staff", f"st_{n}", "test:step", f"rights_request:rr_{n}", "ok", now=clock.now())
    db.session.commit()
    return org


def test_the_chain_verifies(db, trail_of_five):
    assert [e.seq for e in entries(db, trail_of_five.id)] == [1, 2, 3, 4, 5]
    assert problems(trail_of_five.id) == []


def test_an_edited_action_is_named(db, trail_of_five):
    tamper(
        db, "UPDATE audit_entry SET action = 'test:other' WHERE org_id = :o AND seq = 3", o=trail_of_five.id
    )
    assert problems(trail_of_five.id) == [
        "audit entry #3: content does not match its hash "
        "(entry edited: actor, action, target, outcome or details)"
    ]


def test_a_deleted_middle_entry_is_named(db, trail_of_five):
    tamper(db, "DELETE FROM audit_entry WHERE org_id = :o AND seq = 3", o=trail_of_five.id)
    assert problems(trail_of_five.id) == ["audit entry #4: audit entry #3 missing before it (deleted)"]


def test_swapped_entries_are_named(db, trail_of_five):
    org_id = trail_of_five.id
    tamper(db, "UPDATE audit_entry SET seq = 100 WHERE org_id = :o AND seq = 2", o=org_id)
    tamper(db, "UPDATE audit_entry SET seq = 2 WHERE org_id = :o AND seq = 4", o=org_id)
    tamper(db, "UPDATE audit_entry SET seq = 4 WHERE org_id = :o AND seq = 100", o=org_id)
    found = problems(org_id)
    assert found == [
        "audit entry #2: its hash is that of entry #4: renumbered (entries swapped or reordered)",
        "audit entry #3: does not link to the entry before it (reordered or inserted)",
        "audit entry #4: its hash is that of entry #2: renumbered (entries swapped or reordered)",
        "audit entry #5: does not link to the entry before it (reordered or inserted)",
    ]


def test_deleting_the_newest_entries_is_found(db, trail_of_five):
    tamper(db, "DELETE FROM audit_entry WHERE org_id = :o AND seq >= 4", o=trail_of_five.id)
    assert problems(trail_of_five.id) == [
        "audit trail: its head is entry #5, the newest entry is #3 (the newest entries deleted)"
    ]


def test_a_checkpoint_signs_the_trail_head_and_finds_it_truncated(db, clock, audit, org):
    for _ in range(3):
        trail.record(org.id, "staff", "st_1", "test:step", now=clock.now())
    db.session.commit()
    assert_ok(audit("checkpoint"))
    assert_ok(audit("verify"))

    # The newest entry deleted and the head row moved back with it: only the checkpoint knows.
    tamper(db, "DELETE FROM audit_entry WHERE org_id = :o AND seq = 3", o=org.id)
    head = db.session.get(AuditHead, org.id)
    prev = db.session.scalar(select(AuditEntry.hash).where(AuditEntry.org_id == org.id, AuditEntry.seq == 2))
    tamper(db, "UPDATE audit_head SET seq = 2, hash = :h WHERE trail = :o", h=prev, o=head.trail)
    db.session.commit()

    result = audit("verify")
    assert result.exit_code == 1
    assert "checkpoint #1: audit entry #3, the head it signed, is gone (trail truncated)" in result.output


def test_an_organizations_checkpoint_signs_the_service_trail_and_finds_it_truncated(db, clock, audit, org):
    for _ in range(3):
        trail.record(None, "job", "retention", "job:retention", now=clock.now())
    trail.record(org.id, "staff", "st_1", "test:step", now=clock.now())
    db.session.commit()
    assert_ok(audit("checkpoint"))  # signs the service's head, #3; the command is entry #4
    assert_ok(audit("verify"))

    # The service's entries from #3 on deleted and its head moved back to #2: the service's own
    # check cannot tell, the organization's checkpoint can.
    tamper(db, "DELETE FROM audit_entry WHERE org_id IS NULL AND seq >= 3")
    second = db.session.scalar(
        select(AuditEntry.hash).where(AuditEntry.org_id.is_(None), AuditEntry.seq == 2)
    )
    tamper(db, "UPDATE audit_head SET seq = 2, hash = :h WHERE trail = :t", h=second, t=trail.SERVICE_TRAIL)
    db.session.commit()

    result = audit("verify")
    assert result.exit_code == 1
    found = "checkpoint #1: the service's audit entry #3, the head it signed, is gone"
    assert f"{found} (the service's trail truncated)" in result.output


def test_verify_reports_the_trail(cli, db, trail_of_five):
    tamper(db, "UPDATE audit_entry SET actor = 'st_x' WHERE org_id = :o AND seq = 1", o=trail_of_five.id)
    db.session.commit()
    result = run(cli, "audit", "verify", "--org", trail_of_five.slug)
    assert result.exit_code == 1
    assert "5 trail entries" in result.output
    assert "audit entry #1: content does not match its hash" in result.output


only_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="needs DATABASE_URL to point at PostgreSQL")


@only_postgres
def test_two_writers_at_once_keep_the_chain_gapless(app, clock):
    """Committed for real: two threads, each its own application context and connection."""
    per_thread = 40
    with app.app_context():
        org = make_org(clock.now())
        _db.session.commit()
        org_id = org.id
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with app.app_context():
                start.wait(timeout=30)
                for n in range(per_thread):
                    with unit_of_work():
                        trail.record(org_id, "job", name, "test:write", f"n:{n}", now=clock.now())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        with app.app_context():
            assert failures == []
            seqs = _db.session.scalars(
                select(AuditEntry.seq).where(AuditEntry.org_id == org_id).order_by(AuditEntry.seq)
            ).all()
            assert seqs == list(range(1, 2 * per_thread + 1))
            assert problems(org_id) == []
    finally:
        with app.app_context():
            _db.session.execute(text("DELETE FROM audit_entry WHERE org_id = :o"), {"o": org_id})
            _db.session.execute(text("DELETE FROM audit_head WHERE trail = :o"), {"o": org_id})
            _db.session.execute(text("DELETE FROM organization WHERE id = :o"), {"o": org_id})
            _db.session.commit()
