"""The command line: ``flask scheduler run --once``; its output and its exit status (1 with a
message, never a traceback)."""

from __future__ import annotations

import json

from sqlalchemy import select

from consent_service.consent.models import ConsentState
from tests.cli_support import assert_ok, run
from tests.factories import grant, make_org, make_purpose, make_subject


def test_scheduler_run_once(cli, db, clock):
    org = make_org(clock.now(), "sched-shop")
    make_purpose(org, clock.now(), "promo", consent_validity_days=30)
    subject = make_subject(org, clock.now(), "sched-user")
    grant(org, subject, clock.now(), "promo")
    db.session.commit()

    clock.advance(days=31)
    result = run(cli, "scheduler", "run", "--once")
    assert_ok(result)
    report = json.loads(result.output)
    assert report["expired"]["sched-shop"] == 1
    assert report["checkpoints"]["sched-shop"] == 1

    db.session.expire_all()
    state = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id)).one()
    assert state.status == "expired"

    again = json.loads(run(cli, "scheduler", "run", "--once").output)
    assert again["expired"]["sched-shop"] == 0
    assert again["checkpoints"]["sched-shop"] is None
