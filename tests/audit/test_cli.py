"""The command line: ``flask audit verify`` and ``checkpoint``; its output and its exit status (1
with a message, never a traceback)."""

from __future__ import annotations

from sqlalchemy import select, update

from consent_service.consent.models import ConsentEvent
from consent_service.organizations import service as organizations
from tests.cli_support import assert_clean_failure, assert_ok, run
from tests.factories import grant, make_subject


def test_audit_verify_ok_after_seed(cli, seeded):
    result = run(cli, "audit", "verify")
    assert_ok(result)
    assert "demo: OK — 4 chains, 7 events, 1 checkpoints" in result.output


def test_audit_verify_finds_an_edited_event(cli, db, seeded):
    org = organizations.get_organization("demo")
    first = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.org_id == org.id).order_by(ConsentEvent.id)
    ).first()
    db.session.execute(update(ConsentEvent).where(ConsentEvent.id == first.id).values(method="phone"))
    db.session.commit()

    result = run(cli, "audit", "verify", "--org", "demo")
    assert result.exit_code == 1
    assert "demo: BROKEN" in result.output
    assert "content does not match its hash (event edited)" in result.output
    assert "Traceback" not in result.output


def test_audit_verify_unknown_org(cli):
    assert_clean_failure(run(cli, "audit", "verify", "--org", "nowhere"), "no organization 'nowhere'")


def test_audit_checkpoint(cli, db, clock, seeded):
    result = run(cli, "audit", "checkpoint")
    assert_ok(result)
    assert "demo: unchanged since the last checkpoint" in result.output

    org = organizations.get_organization("demo")
    subject = make_subject(org, clock.now(), "u-2000")
    grant(org, subject, clock.now(), "recommendations")
    db.session.commit()
    clock.advance(minutes=1)
    result = run(cli, "audit", "checkpoint", "--org", "demo")
    assert_ok(result)
    assert result.output.strip() == "demo: checkpoint #2"
    verified = run(cli, "audit", "verify")
    assert_ok(verified)
    assert "demo: OK — 5 chains, 8 events, 2 checkpoints" in verified.output
