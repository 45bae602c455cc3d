"""Tamper evidence for an erased person (PIPL 47; GB/T 35273 11.7).

Their events were redacted, keeping their hashes, and a signed erasure record holds the digest
of each redacted event. ``flask audit verify`` stays green for the honest ledger, against the
checkpoints and an exported head made before the erasure as well as later ones; and any change
by a database writer without the secret shows: a redacted event edited (its action, its time,
its evidence put back), the record's list edited or re-signed with a key of their own, the
record deleted, the person's mark or pseudonym changed, a receipt's erased token or its digest
changed, a state row edited. A receipt without a token is right only for an erased person.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.audit.verify import verify_organization
from consent_service.consent.erasure import erase_subject
from consent_service.consent.models import SubjectErasure
from consent_service.consent.redaction import ERASURE_TYPE, record_payload
from consent_service.receipts.models import ConsentReceipt
from tests.audit.tampering import Attacker, events_of, stored, tamper
from tests.cli_support import assert_ok
from tests.consent.erasure_cases import IP, person_with_history, purposes
from tests.factories import make_org


def problems(result) -> list[str]:
    """The problem lines of a ``flask audit verify`` answer."""
    return [line.strip() for line in result.output.splitlines() if line.startswith("  ")]


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now(), "audit-erase")
    purposes(org, clock.now())
    return org


@pytest.fixture
def erased(db, org, alice, bob, clock):
    """Alice's history and Bob's chain, checkpointed; then Alice erased (five events redacted,
    three consents withdrawn, four receipts erased)."""
    person = person_with_history(org, clock, "carol-erased")
    assert create_checkpoint(org, clock.now()) is not None
    erase_subject(org, person, clock.now(), reason="account cancellation", reference="rr_9")
    db.session.expire_all()
    return person


def _record(db, subject) -> SubjectErasure:
    return db.session.scalars(select(SubjectErasure).where(SubjectErasure.subject_id == subject.id)).one()


def _erased_receipts(db, subject) -> list[ConsentReceipt]:
    events = {e.id for e in events_of(db, subject)}
    return [r for r in db.session.scalars(select(ConsentReceipt)) if r.event_id in events]


def _one_problem(audit, *expected: str) -> str:
    result = audit("verify")
    assert result.exit_code == 1, result.output
    (found,) = problems(result)
    for text in expected:
        assert text in found, found
    return found


def test_an_honest_erasure_verifies_against_checkpoints_before_and_after(db, audit, org, erased, clock):
    assert_ok(audit("verify"))
    report = verify_organization(org)
    assert report.ok, report.problems
    assert report.checkpoints == 1
    clock.advance(minutes=5)
    assert create_checkpoint(org, clock.now()) is not None
    assert_ok(audit("verify"))
    assert verify_organization(org).ok


def test_a_head_exported_before_the_erasure_is_still_extended(db, cli, tmp_path, org, alice, clock):
    person = person_with_history(org, clock, "dora")
    create_checkpoint(org, clock.now())
    head = tmp_path / "head.json"
    assert_ok(cli.invoke(args=["audit", "export-head", "--org", org.slug, "--output", str(head)]))
    erase_subject(org, person, clock.now(), reason="deletion request")
    result = cli.invoke(args=["audit", "verify", "--org", org.slug, "--head", str(head)])
    assert_ok(result)


@pytest.mark.parametrize(
    ("column", "value"),
    [("action", "'refuse'"), ("consent_type", "'written'"), ("method", "'phone'"), ("purpose_version", "7")],
)
def test_an_edited_redacted_event_is_found(db, audit, erased, column, value):
    third = events_of(db, erased)[2]
    tamper(db, f"UPDATE consent_event SET {column} = {value} WHERE id = :id", id=third.id)  # noqa: S608
    _one_problem(audit, "event #3", "redacted content does not match the signed erasure record")


def test_a_redacted_event_moved_in_time_is_found(db, audit, erased):
    first = events_of(db, erased)[0]
    tamper(
        db,
        "UPDATE consent_event SET occurred_at = :at WHERE id = :id",
        at=stored(db, first.occurred_at - timedelta(days=30)),
        id=first.id,
    )
    _one_problem(audit, "event #1", "redacted content does not match the signed erasure record")


def test_evidence_put_back_is_found(db, audit, erased):
    first = events_of(db, erased)[0]
    tamper(
        db,
        "UPDATE consent_event SET evidence = :e WHERE id = :id",
        e=json.dumps(first.evidence | {"ip": IP}),
        id=first.id,
    )
    _one_problem(audit, "event #1", "redacted content does not match")


def test_a_changed_hash_of_a_redacted_event_is_found(db, audit, erased):
    second = events_of(db, erased)[1]
    tamper(db, "UPDATE consent_event SET hash = :h WHERE id = :id", h="0" * 64, id=second.id)
    _one_problem(audit, "event #2")


def test_an_edited_withdrawal_of_the_erasure_is_found(db, audit, erased):
    """The erasure's own withdrawals were not redacted: their hashes cover them as ever."""
    last = events_of(db, erased)[-1]
    tamper(db, "UPDATE consent_event SET action = 'grant' WHERE id = :id", id=last.id)
    _one_problem(audit, f"event #{last.seq}", "content does not match its hash")


def test_an_edited_erasure_record_is_found(db, audit, erased):
    """The attacker edits an event and writes its new digest into the record: the signature
    no longer covers what the record says."""
    record = _record(db, erased)
    listed = [list(item) for item in record.events]
    listed[2][2] = hashlib.sha256(b"the attacker's digest").hexdigest()
    tamper(db, "UPDATE subject_erasure SET events = :e WHERE id = :id", e=json.dumps(listed), id=record.id)
    _one_problem(audit, "erasure record differs from what it signs")


@pytest.mark.parametrize(
    ("column", "value"),
    [("reason", "'a different reason'"), ("reference", "'rr_other'"), ("receipts", "'[]'")],
)
def test_any_column_of_the_record_is_signed(db, audit, erased, column, value):
    record = _record(db, erased)
    tamper(db, f"UPDATE subject_erasure SET {column} = {value} WHERE id = :id", id=record.id)  # noqa: S608
    _one_problem(audit, "erasure record")


def test_a_record_re_signed_with_another_key_is_found(db, audit, org, erased):
    record = _record(db, erased)
    attacker = Attacker()
    attacker.add_key(db)
    token = attacker.sign(record_payload(record, erased.external_id), ERASURE_TYPE)
    tamper(
        db,
        "UPDATE subject_erasure SET jws = :t, kid = :k WHERE id = :id",
        t=token,
        k=attacker.kid,
        id=record.id,
    )
    _one_problem(audit, "erasure record", "not a proven key")


def test_a_deleted_erasure_record_is_found(db, audit, erased):
    tamper(db, "DELETE FROM subject_erasure WHERE subject_id = :s", s=erased.id)
    _one_problem(audit, "marked erased, but has no erasure record")


def test_a_cleared_erased_at_is_found(db, audit, erased):
    tamper(db, "UPDATE subject SET erased_at = NULL WHERE id = :s", s=erased.id)
    _one_problem(audit, "not marked erased (erased_at cleared)")


def test_both_the_mark_and_the_record_removed_are_found(db, audit, erased):
    """Without the record the redacted events are checked against their original hashes."""
    tamper(db, "DELETE FROM subject_erasure WHERE subject_id = :s", s=erased.id)
    tamper(db, "UPDATE subject SET erased_at = NULL WHERE id = :s", s=erased.id)
    _one_problem(audit, "event #1", "content does not match its hash")


def test_a_changed_erased_at_or_pseudonym_is_found(db, audit, erased, clock):
    move = "UPDATE subject SET erased_at = :at WHERE id = :s"
    tamper(db, move, at=stored(db, clock.now() + timedelta(days=1)), s=erased.id)
    _one_problem(audit, "erased_at differs from the signed erasure record")
    tamper(db, move, at=stored(db, _record(db, erased).erased_at), s=erased.id)
    assert_ok(audit("verify"))
    tamper(db, "UPDATE subject SET external_id = 'someone-else' WHERE id = :s", s=erased.id)
    _one_problem(audit, "erasure record differs from what it signs")


def test_an_erased_receipt_s_digest_or_row_changed_is_found(db, audit, erased):
    receipt = _erased_receipts(db, erased)[0]
    tamper(db, "UPDATE consent_receipt SET jws_sha256 = :h WHERE id = :id", h="f" * 64, id=receipt.id)
    _one_problem(audit, f"receipt {receipt.receipt_id}: its erased token is not the one the erasure record")
    tamper(db, "DELETE FROM consent_receipt WHERE id = :id", id=receipt.id)
    _one_problem(audit, "a grant without its receipt")


def test_a_receipt_without_its_token_is_a_problem_for_a_person_not_erased(db, audit, erased, bob):
    (receipt,) = _erased_receipts(db, bob)
    tamper(
        db,
        "UPDATE consent_receipt SET jws = NULL, jws_sha256 = :h WHERE id = :id",
        h=hashlib.sha256(receipt.jws.encode()).hexdigest(),
        id=receipt.id,
    )
    _one_problem(audit, "'bob'", "has no token (erased), yet the person is not erased")


def test_an_erased_person_s_state_row_still_must_match_the_events(db, audit, erased):
    tamper(db, "UPDATE consent_state SET status = 'granted' WHERE subject_id = :s", s=erased.id)
    _one_problem(audit, "current state differs from what the events imply")


def test_an_erasure_record_of_someone_else_is_found(db, audit, org, erased, bob):
    """A record moved to another person: its signature names the person it was made for."""
    tamper(db, "UPDATE subject_erasure SET subject_id = :b WHERE subject_id = :s", b=bob.id, s=erased.id)
    found = problems(audit("verify"))
    assert any("marked erased, but has no erasure record" in p for p in found), found
    assert any("'bob'" in p and "not marked erased" in p for p in found), found
