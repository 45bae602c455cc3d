"""The scheduled full verification of each ledger: its result kept as a row (what it covered,
intact or not, the first problems), the newest stated by the compliance report."""

from __future__ import annotations

import io
import json

import pypdf
from sqlalchemy import select, text

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.audit.jobs import verify_all
from consent_service.audit.models import LedgerVerification
from consent_service.audit.verifications import newest_verification
from consent_service.consent.hashing import iso_utc
from consent_service.records import downloads
from consent_service.records.report import compliance_report
from consent_service.records.verify import attachments
from tests.factories import act, grant, make_org, make_purpose, make_subject


def _ledger(db, clock, slug="verified-shop"):
    org = make_org(clock.now(), slug)
    make_purpose(org, clock.now(), "marketing")
    for n in range(3):
        person = make_subject(org, clock.now(), f"u-{n}")
        grant(org, person, clock.now(), "marketing")
    act(org, person, clock.now(), "withdraw", "marketing")
    create_checkpoint(org, clock.now())
    db.session.commit()
    return org


def test_the_job_keeps_what_each_verification_found(db, clock, app):
    org = _ledger(db, clock)
    other = _ledger(db, clock, "other-shop")
    clock.advance(minutes=5)
    assert verify_all() == {org.slug: True, other.slug: True}
    row = newest_verification(org.id)
    assert (row.ok, row.events, row.subjects, row.receipts, row.checkpoints) == (True, 4, 3, 3, 1)
    assert (row.checkpoint_seq, row.problem_count, row.problems) == (1, 0, [])
    assert row.verified_at == clock.now() and row.seconds >= 0
    assert newest_verification(other.id).org_id == other.id
    clock.advance(hours=23)
    assert verify_all() == {org.slug: None, other.slug: None}  # verified within the interval
    clock.advance(hours=1)
    assert verify_all(org.slug) == {org.slug: True}
    assert newest_verification(org.id).verified_at == clock.now()


def test_a_broken_ledger_is_kept_as_broken_with_its_first_problems(db, clock, app):
    org = _ledger(db, clock)
    db.session.execute(
        text("UPDATE consent_event SET action = 'withdraw' WHERE org_id = :org AND action = 'grant'"),
        {"org": org.id},
    )
    db.session.commit()
    db.session.expire_all()
    assert verify_all(org.slug) == {org.slug: False}
    row = db.session.scalars(select(LedgerVerification).where(LedgerVerification.org_id == org.id)).one()
    assert not row.ok and row.problem_count >= 3
    assert row.problems and all(isinstance(p, str) for p in row.problems)


def test_the_report_states_the_newest_verification(db, clock, app):
    org = _ledger(db, clock)
    before = compliance_report(org, clock.now(), clock.advance(days=1), clock.now())
    assert before["proof"]["verification"] is None
    verify_all(org.slug)
    verified_at = clock.now()
    clock.advance(hours=1)
    grant(org, make_subject(org, clock.now(), "u-late"), clock.now(), "marketing")
    create_checkpoint(org, clock.now())
    db.session.commit()
    start = clock.now()
    clock.advance(days=1)
    proof = compliance_report(org, start, clock.now(), clock.now())["proof"]
    verification = proof["verification"]
    assert verification["verified_at"] == verified_at.isoformat() and verification["ok"]
    assert (verification["events"], verification["checkpoint_seq"], verification["checkpoints_since"]) == (
        4,
        1,
        1,
    )

    pdf = downloads.report_pdf(org, start, clock.now(), clock.now())
    data = json.loads(attachments(pdf)["record.json"])["data"]
    assert data["proof"]["verification"]["checkpoint_hash"] == verification["checkpoint_hash"]
    text_ = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text_.split())
    for expected in ("Last full verification of the ledger", "checkpoints signed since: 1", "4 events"):
        assert expected in flat, expected
    assert iso_utc(verified_at)[:10] in flat
