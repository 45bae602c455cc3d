"""Receipts are checked with the ledger, and a broken chain reports nothing false.

Before: a chain break also printed "consent states of 1 unknown subjects" (the broken person's
state rows were never set aside), and stored receipts were never looked at. Now each receipt
must verify with a proven key and say what its event says, and every grant has one, except
imported history, for which none is signed by design.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from consent_service.audit.verify import verify_organization
from consent_service.consent.bulk import import_acts
from consent_service.consent.models import ConsentEvent
from consent_service.receipts.models import ConsentReceipt
from tests.audit.tampering import events_of, rehash_chain, stored, tamper
from tests.factories import make_org, make_subject


def problems(result) -> list[str]:
    """The problem lines of a ``flask audit verify`` answer."""
    return [line.strip() for line in result.output.splitlines() if line.startswith("  ")]


def receipt_of(db, event) -> ConsentReceipt:
    return db.session.scalars(select(ConsentReceipt).where(ConsentReceipt.event_id == event.id)).one()


def where(subject, event) -> str:
    return f"subject {subject.external_id!r} (id {subject.id}), event #{event.seq} ({event.uuid})"


def test_an_honest_ledger_counts_its_receipts(audit, org, alice, bob):
    result = audit("verify")
    assert result.exit_code == 0, result.output
    assert f"{org.slug}: OK — 2 chains, 4 events, 0 checkpoints, 3 receipts" in result.output


def test_a_broken_chain_reports_nothing_false(db, audit, org, alice, bob):
    withdrawal = events_of(db, alice)[-1]
    tamper(db, "UPDATE consent_event SET action = 'grant' WHERE id = :id", id=withdrawal.id)
    assert problems(audit("verify")) == [
        f"{where(alice, withdrawal)}: content does not match its hash (event edited)"
    ]


def test_a_deleted_receipt_is_found(db, audit, org, alice, bob):
    first = events_of(db, alice)[0]
    tamper(db, "DELETE FROM consent_receipt WHERE event_id = :id", id=first.id)
    assert problems(audit("verify")) == [
        f"{where(alice, first)}: a grant without its receipt (receipt deleted, or the event forged)"
    ]


def test_receipts_swapped_between_people_are_found(db, audit, org, alice, bob):
    mine, theirs = events_of(db, alice)[0], events_of(db, bob)[0]
    a, b = receipt_of(db, mine), receipt_of(db, theirs)
    tokens = (a.jws, b.jws)
    tamper(db, "UPDATE consent_receipt SET jws = :t WHERE id = :id", t=tokens[1], id=a.id)
    tamper(db, "UPDATE consent_receipt SET jws = :t WHERE id = :id", t=tokens[0], id=b.id)

    found = problems(audit("verify"))

    assert len(found) == 2
    assert found[0].startswith(f"{where(alice, mine)}: receipt {a.receipt_id}: its claim ")
    assert found[1].startswith(f"{where(bob, theirs)}: receipt {b.receipt_id}: its claim ")
    assert all(line.endswith("differs from the event (event or receipt changed)") for line in found)


def test_a_receipt_whose_signature_was_altered_is_found(db, audit, org, alice, bob):
    first = events_of(db, alice)[0]
    receipt = receipt_of(db, first)
    head, body, signature = receipt.jws.split(".")
    altered = ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    tamper(db, "UPDATE consent_receipt SET jws = :t WHERE id = :id", t=altered, id=receipt.id)
    assert problems(audit("verify")) == [
        f"{where(alice, first)}: receipt {receipt.receipt_id}: "
        "signature does not verify: the signature is not valid"
    ]


def test_a_receipt_moved_to_a_withdrawal_is_found(db, audit, org, alice, bob):
    """The withdrawal now seems to come with a receipt; the grant has lost its own."""
    first, _, withdrawal = events_of(db, alice)
    tamper(db, "UPDATE consent_receipt SET event_id = :w WHERE event_id = :g", w=withdrawal.id, g=first.id)
    assert problems(audit("verify")) == [
        f"{where(alice, first)}: a grant without its receipt (receipt deleted, or the event forged)"
    ]


def test_a_receipt_on_a_withdrawal_is_found(db, audit, clock, org, alice, bob):
    _, _, withdrawal = events_of(db, alice)
    tamper(
        db,
        "INSERT INTO consent_receipt (receipt_id, event_id, org_id, kid, jws, issued_at) "
        "SELECT 'extra', :w, org_id, kid, jws, issued_at FROM consent_receipt WHERE org_id = :o LIMIT 1",
        w=withdrawal.id,
        o=org.id,
    )
    assert problems(audit("verify")) == [
        f"{where(alice, withdrawal)}: receipt extra belongs to a withdraw "
        "(receipts are issued for grants only)"
    ]


def test_a_receipt_filed_under_another_organization_is_found(db, audit, clock, org, alice, bob):
    other = make_org(clock.now())
    first = events_of(db, alice)[0]
    receipt = receipt_of(db, first)
    tamper(db, "UPDATE consent_receipt SET org_id = :o WHERE id = :id", o=other.id, id=receipt.id)
    assert problems(audit("verify")) == [
        f"{where(alice, first)}: receipt {receipt.receipt_id} is filed under another organization"
    ]


def test_a_receipt_whose_key_id_was_changed_is_found(db, audit, org, alice, bob):
    first = events_of(db, alice)[0]
    receipt = receipt_of(db, first)
    kid = receipt.kid
    tamper(db, "UPDATE consent_receipt SET kid = 'another' WHERE id = :id", id=receipt.id)
    assert problems(audit("verify")) == [
        f"{where(alice, first)}: receipt {receipt.receipt_id}: signed with key {kid!r}, "
        "but stored as signed with 'another'"
    ]


def test_a_backdated_grant_with_its_chain_recomputed_is_found_by_its_receipt(db, audit, org, alice, bob):
    """Move a grant a day earlier and recompute every hash: the chain and states look whole, and no
    checkpoint exists yet; the signed receipt still holds the real time."""
    first = events_of(db, alice)[0]
    tamper(
        db,
        "UPDATE consent_event SET occurred_at = :at WHERE id = :id",
        at=stored(db, first.occurred_at - timedelta(days=1)),
        id=first.id,
    )
    rehash_chain(db, alice)
    receipt = receipt_of(db, first)

    assert problems(audit("verify")) == [
        f"{where(alice, first)}: receipt {receipt.receipt_id}: its claim consentTimestamp differs from the "
        "event (event or receipt changed)"
    ]


def test_a_withdrawal_turned_into_an_imported_grant_needs_a_checkpoint_to_be_found(
    db, audit, clock, org, alice
):
    """Imported history has no receipts, so an event not yet under a checkpoint that claims to be
    imported is protected by nothing else: the checkpoint finds it once it covers the event."""
    assert audit("checkpoint").exit_code == 0
    withdrawal = events_of(db, alice)[-1]
    tamper(
        db,
        "UPDATE consent_event SET action = 'grant', consent_type = 'explicit', method = 'import' "
        "WHERE id = :id",
        id=withdrawal.id,
    )
    rehash_chain(db, alice)
    tamper(
        db,
        "UPDATE consent_state SET status = 'granted', consent_type = 'explicit' "
        "WHERE subject_id = :s AND purpose_id = :p",
        s=alice.id,
        p=withdrawal.purpose_id,
    )
    assert problems(audit("verify")) == [
        "checkpoint #1: Merkle root does not match the chains (history rewritten)"
    ]


def test_imported_history_needs_no_receipts(db, audit, clock, org):
    at = (clock.now() - timedelta(days=30)).isoformat()
    report = import_acts(
        org,
        enumerate(
            [
                {
                    "subject": "i1",
                    "purpose": "marketing",
                    "action": "grant",
                    "consent_type": "explicit",
                    "occurred_at": at,
                },
                {
                    "subject": "i2",
                    "purpose": "analytics",
                    "action": "grant",
                    "consent_type": "explicit",
                    "occurred_at": at,
                    "method": "paper",
                },
            ],
            start=1,
        ),
        clock.now(),
    )
    assert report.events == 2
    events = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.org_id == org.id).order_by(ConsentEvent.id)
    ).all()
    assert [(e.method, e.evidence) for e in events] == [
        ("import", {}),
        ("import", {"source_method": "paper"}),
    ]
    result = audit("verify")
    assert result.exit_code == 0, result.output
    assert "0 receipts" in result.output
    assert verify_organization(org).ok


def test_verify_streams_receipt_claims_one_person_at_a_time(db, org, alice, bob, monkeypatch):
    """The receipts reach the checks with their events, person by person, never all at once."""
    from consent_service.audit import chains

    seen: list[int] = []
    original = chains._Walk._receipt_problem

    def spy(self, subject, events, receipts, *rest):
        seen.append(len([r for r in receipts if r[2] is not None]))
        return original(self, subject, events, receipts, *rest)

    monkeypatch.setattr(chains._Walk, "_receipt_problem", spy)
    assert verify_organization(org).ok
    assert seen == [2, 1]


def test_a_state_row_of_someone_else_is_found_once(db, audit, clock, org, alice, bob):
    """A state row copied to a person of another organization, under this one."""
    stranger = make_subject(make_org(clock.now()), clock.now(), "stranger")
    tamper(
        db,
        "INSERT INTO consent_state (subject_id, purpose_id, org_id, status, event_id, event_uuid, "
        "purpose_version, policy_seq, consent_type, is_guardian_act, occurred_at, expires_at, refused_at) "
        "SELECT :s, purpose_id, org_id, status, event_id, event_uuid, purpose_version, policy_seq, "
        "consent_type, is_guardian_act, occurred_at, expires_at, refused_at FROM consent_state "
        "WHERE subject_id = :b",
        s=stranger.id,
        b=bob.id,
    )
    assert problems(audit("verify")) == ["consent states of 1 unknown subjects (state rows added)"]


def test_an_event_moved_to_another_person_is_found_once(db, audit, clock, org, alice, bob):
    stranger = make_subject(make_org(clock.now()), clock.now(), "stranger")
    last = events_of(db, alice)[-1]
    tamper(db, "UPDATE consent_event SET subject_id = :s WHERE id = :id", s=stranger.id, id=last.id)
    assert problems(audit("verify")) == [
        f"subject 'alice' (id {alice.id}): chain head says #3 but the ledger ends at #2 "
        "(events deleted or added)",
        f"1 events belong to no subject of {org.slug}",
    ]
