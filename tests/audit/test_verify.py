"""Tamper evidence of the consent ledger (GB/T 35273 11.7) and the consent expiry sweep.

Each tampering test changes the stored ledger behind the service's back with raw SQL, the
way someone with database access would, and expects ``flask audit verify`` to fail and to
name what was broken: an edited event, a deleted last event, two events swapped, a whole
person removed (found only by a signed checkpoint), a chain rewritten with fresh hashes
(found only by the checkpoint's Merkle root) and an edited checkpoint. The Merkle root is
checked against an independent RFC 6962 computation. The expiry sweep writes one ``expire``
event per lapsed grant, once, and runs from ``flask scheduler run --once``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from consent_service.audit.checkpoints import create_checkpoint, merkle_root
from consent_service.audit.models import LedgerCheckpoint
from consent_service.audit.verify import verify_organization
from consent_service.canonical import canonical_json
from consent_service.consent import hashing
from consent_service.consent.expiry import expire_lapsed
from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.consent.rows import EventRow
from consent_service.receipts import keys
from tests.factories import act, grant, make_org, make_purpose, make_subject

# --- helpers ------------------------------------------------------------------------------


def _tamper(db, sql: str, **params) -> None:
    """Change stored rows behind the ORM's back, then forget what the session has cached."""
    db.session.execute(text(sql), params)
    db.session.expire_all()


def _verify(cli, org):
    return cli.invoke(args=["audit", "verify", "--org", org.slug])


def _checkpoint(cli, org):
    result = cli.invoke(args=["audit", "checkpoint", "--org", org.slug])
    assert result.exit_code == 0, result.output
    return result.output


def _events(db, subject) -> list[ConsentEvent]:
    return list(
        db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.subject_id == subject.id).order_by(ConsentEvent.seq)
        )
    )


# --- an honest ledger -----------------------------------------------------------------------


def test_untampered_ledger_verifies(db, cli, org, alice, bob):
    _checkpoint(cli, org)
    result = _verify(cli, org)
    assert result.exit_code == 0, result.output
    assert f"{org.slug}: OK — 2 chains, 4 events, 1 checkpoints" in result.output
    report = verify_organization(org)
    assert (report.ok, report.subjects, report.events, report.checkpoints) == (True, 2, 4, 1)


def test_verify_unknown_org_fails_cleanly(cli, org, alice):
    result = cli.invoke(args=["audit", "verify", "--org", "unknown"])
    assert result.exit_code == 1
    assert "no organization 'unknown'" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


# --- tampering with events -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [("action", "grant"), ("occurred_at", "2026-11-01 00:00:00"), ("actor_kind", "officer")],
)
def test_editing_one_event_is_found_and_named(db, cli, org, alice, bob, column, value):
    withdrawal = _events(db, alice)[-1]
    assert withdrawal.action == "withdraw"
    _tamper(db, f"UPDATE consent_event SET {column} = :value WHERE id = :id", value=value, id=withdrawal.id)

    result = _verify(cli, org)

    assert result.exit_code == 1, result.output
    assert f"{org.slug}: BROKEN" in result.output
    assert withdrawal.uuid in result.output
    assert "event #3" in result.output
    assert "content does not match its hash (event edited)" in result.output
    assert "'bob'" not in result.output  # the other chain is intact and not blamed


def test_editing_an_early_event_names_that_event(db, cli, org, alice):
    first = _events(db, alice)[0]
    _tamper(db, "UPDATE consent_event SET consent_type = 'written' WHERE id = :id", id=first.id)

    result = _verify(cli, org)

    assert result.exit_code == 1
    assert f"event #1 ({first.uuid}): content does not match its hash" in result.output


def test_deleting_the_last_event_is_found(db, cli, org, alice, bob):
    """Hide a withdrawal: delete it and point the state back at the grant."""
    grant_event, _, withdrawal = _events(db, alice)
    _tamper(
        db,
        "UPDATE consent_state SET status = 'granted', event_id = :grant_id "
        "WHERE subject_id = :subject_id AND purpose_id = :purpose_id",
        grant_id=grant_event.id,
        subject_id=alice.id,
        purpose_id=withdrawal.purpose_id,
    )
    _tamper(db, "DELETE FROM consent_event WHERE id = :id", id=withdrawal.id)

    result = _verify(cli, org)

    assert result.exit_code == 1, result.output
    assert f"subject 'alice' (id {alice.id}): chain head says #3 but the ledger ends at #2" in result.output


def test_truncating_a_chain_and_its_head_is_found_by_the_checkpoint(db, cli, org, alice, bob):
    """A careful tamperer also rewinds the chain head; only the checkpoint remembers."""
    _checkpoint(cli, org)
    _, second, withdrawal = _events(db, alice)
    _tamper(
        db,
        "UPDATE consent_state SET status = 'granted', event_id = :id "
        "WHERE subject_id = :subject_id AND purpose_id = :purpose_id",
        id=_events(db, alice)[0].id,
        subject_id=alice.id,
        purpose_id=withdrawal.purpose_id,
    )
    _tamper(db, "DELETE FROM consent_event WHERE id = :id", id=withdrawal.id)
    _tamper(
        db,
        "UPDATE subject SET chain_seq = 2, chain_head = :head WHERE id = :id",
        head=second.hash,
        id=alice.id,
    )

    result = _verify(cli, org)

    assert result.exit_code == 1, result.output
    assert "chain head says" not in result.output  # the chain itself now looks whole
    assert (
        f"checkpoint #1: chain of subject id {alice.id} had 3 events, now has 2 (chain dropped or truncated)"
        in result.output
    )


def test_swapping_two_events_is_found(db, cli, org, alice):
    first, second, _ = _events(db, alice)
    _tamper(db, "UPDATE consent_event SET seq = -1 WHERE id = :id", id=first.id)
    _tamper(db, "UPDATE consent_event SET seq = 1 WHERE id = :id", id=second.id)
    _tamper(db, "UPDATE consent_event SET seq = 2 WHERE id = :id", id=first.id)

    result = _verify(cli, org)

    assert result.exit_code == 1, result.output
    assert f"event #1 ({second.uuid}): previous-hash link broken" in result.output


def test_deleting_a_whole_person_is_found_by_the_checkpoint(db, cli, org, alice, bob):
    _checkpoint(cli, org)
    alice_id = alice.id
    for table in ("consent_receipt", "consent_state", "consent_event"):
        column = "event_id IN (SELECT id FROM consent_event WHERE subject_id = :id)"
        if table != "consent_receipt":
            column = "subject_id = :id"
        _tamper(db, f"DELETE FROM {table} WHERE {column}", id=alice_id)
    _tamper(db, "DELETE FROM subject WHERE id = :id", id=alice_id)
    assert db.session.scalar(select(func.count()).select_from(Subject).where(Subject.id == alice_id)) == 0

    result = _verify(cli, org)

    assert result.exit_code == 1, result.output
    assert f"{org.slug}: BROKEN — 1 chains, 1 events, 1 checkpoints" in result.output
    assert (
        f"checkpoint #1: chain of subject id {alice_id} had 3 events, now has 0 (chain dropped or truncated)"
        in result.output
    )
    assert len(verify_organization(org).problems) == 1  # bob's chain is not blamed


def test_a_rewritten_chain_with_fresh_hashes_is_found_by_the_merkle_root(db, cli, org, alice, bob):
    """Edit an event and recompute every later hash and the head: the chain looks whole, but the
    checkpoint knows (and so does the state row, which still reflects the original history)."""
    _checkpoint(cli, org)
    events = _events(db, alice)
    events[-1].action = "grant"
    events[-1].consent_type = "explicit"
    prev = events[0].prev_hash
    for event in events:
        event.prev_hash = prev
        event.hash = hashing.event_hash(event, event.purpose.code)
        prev = event.hash
    alice.chain_head = prev
    db.session.flush()
    db.session.expire_all()

    report = verify_organization(org)
    result = _verify(cli, org)

    assert report.problems[-1] == "checkpoint #1: Merkle root does not match the chains (history rewritten)"
    assert "current state differs" in report.problems[0]
    assert result.exit_code == 1
    assert "Merkle root does not match" in result.output


def test_an_edited_state_row_is_found(db, cli, org, alice, bob):
    """Decisions read the state rows: flipping one to "granted" must not go unnoticed."""
    from consent_service.consent.models import ConsentState

    row = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == alice.id)).first()
    row.status = "withdrawn" if row.status == "granted" else "granted"
    db.session.flush()
    db.session.expire_all()
    report = verify_organization(org)
    assert len(report.problems) == 1 and "current state differs" in report.problems[0]
    assert "alice" in report.problems[0]
    assert _verify(cli, org).exit_code == 1


def test_a_deleted_state_row_is_found(db, org, alice, bob):
    from consent_service.consent.models import ConsentState

    row = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == bob.id)).first()
    db.session.delete(row)
    db.session.flush()
    assert "current state differs" in verify_organization(org).problems[0]


def test_a_grant_expressed_in_another_time_zone_verifies(db, cli, clock):
    """The hash covers instants, not how the caller wrote them (+08:00 here)."""
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "ads", consent_validity_days=30)
    subject = make_subject(org, clock.now(), external_id="shanghai")
    shanghai = timezone(timedelta(hours=8))
    grant(
        org, subject, clock.now(), "ads", occurred_at=(clock.now() - timedelta(hours=3)).astimezone(shanghai)
    )
    db.session.expire_all()

    (event,) = _events(db, subject)
    assert event.expires_at == clock.now() - timedelta(hours=3) + timedelta(days=30)
    assert verify_organization(org).ok
    assert _verify(cli, org).exit_code == 0


# --- checkpoints ------------------------------------------------------------------------------------


def _rfc6962_root(leaves: list[tuple[int, int, str]]) -> str:
    """Merkle Tree Hash of RFC 6962 section 2.1, written here independently."""

    def leaf(item) -> bytes:
        data = json.dumps(list(item), separators=(",", ":")).encode()
        return hashlib.sha256(b"\x00" + data).digest()

    def mth(items) -> bytes:
        if len(items) == 1:
            return leaf(items[0])
        split = 1
        while split * 2 < len(items):
            split *= 2
        return hashlib.sha256(b"\x01" + mth(items[:split]) + mth(items[split:])).digest()

    return mth(sorted(leaves)).hex() if leaves else hashlib.sha256(b"").hexdigest()


def _leaves(n: int) -> list[tuple[int, int, str]]:
    return [(i, i % 3 + 1, hashlib.sha256(str(i).encode()).hexdigest()) for i in range(1, n + 1)]


def test_merkle_root_of_nothing_is_the_hash_of_nothing():
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 13])
def test_merkle_root_matches_rfc_6962(n):
    assert merkle_root(_leaves(n)) == _rfc6962_root(_leaves(n))


def test_merkle_root_does_not_depend_on_input_order():
    leaves = _leaves(5)
    assert merkle_root(leaves) == merkle_root(list(reversed(leaves))) == merkle_root(leaves[2:] + leaves[:2])


def test_merkle_root_changes_with_any_leaf():
    leaves = _leaves(5)
    roots = {merkle_root(leaves)}
    for index in range(len(leaves)):
        sid, seq, head = leaves[index]
        for changed in ((sid, seq + 1, head), (sid, seq, "0" * 64), (sid + 100, seq, head)):
            roots.add(merkle_root(leaves[:index] + [changed] + leaves[index + 1 :]))
    roots.add(merkle_root(leaves[:-1]))  # a dropped leaf
    roots.add(merkle_root([*leaves, leaves[-1]]))  # a duplicated leaf
    assert len(roots) == 1 + 3 * len(leaves) + 2


def test_second_checkpoint_without_changes_is_skipped(db, cli, org, alice):
    assert _checkpoint(cli, org).strip() == f"{org.slug}: checkpoint #1"
    assert _checkpoint(cli, org).strip() == f"{org.slug}: unchanged since the last checkpoint"
    count = select(func.count()).select_from(LedgerCheckpoint).where(LedgerCheckpoint.org_id == org.id)
    assert db.session.scalar(count) == 1


def test_checkpoints_chain_and_their_signatures_verify(db, cli, clock, org, alice, bob):
    _checkpoint(cli, org)
    clock.advance(hours=2)
    act(org, bob, clock.now(), "withdraw", "analytics")
    assert _checkpoint(cli, org).strip() == f"{org.slug}: checkpoint #2"

    db.session.expire_all()
    first, second = db.session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.org_id == org.id).order_by(LedgerCheckpoint.seq)
    ).all()
    assert (first.seq, first.prev_hash) == (1, None)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.created_at == clock.now()
    heads = [(s.id, s.chain_seq, s.chain_head) for s in (alice, bob)]
    assert second.leaves == [[alice.id, 3], [bob.id, 2]]
    assert (second.subject_count, second.event_count) == (2, 5)
    assert second.merkle_root == _rfc6962_root(heads)
    assert first.merkle_root != second.merkle_root
    for cp in (first, second):
        header, payload = keys.verify(cp.signature, keys.jwks())
        assert header["typ"] == "consent-checkpoint+jws"
        assert header["kid"] == cp.kid
        assert payload["org"] == org.slug
        assert (payload["seq"], payload["merkle_root"], payload["prev_hash"]) == (
            cp.seq,
            cp.merkle_root,
            cp.prev_hash,
        )
        assert hashlib.sha256(canonical_json(payload)).hexdigest() == cp.hash
    assert verify_organization(org).ok


def test_an_edited_checkpoint_is_found(db, cli, org, alice):
    _checkpoint(cli, org)
    _tamper(
        db,
        "UPDATE ledger_checkpoint SET merkle_root = :root WHERE org_id = :org_id",
        root="0" * 64,
        org_id=org.id,
    )

    result = _verify(cli, org)

    assert result.exit_code == 1
    assert "checkpoint #1: signed content differs from the stored checkpoint" in result.output


def test_a_forged_checkpoint_signature_is_found(db, cli, org, alice):
    _checkpoint(cli, org)
    signature = db.session.scalar(select(LedgerCheckpoint.signature).where(LedgerCheckpoint.org_id == org.id))
    head, body, sig = signature.split(".")
    forged = ".".join([head, body, ("A" if sig[0] != "A" else "B") + sig[1:]])
    _tamper(
        db, "UPDATE ledger_checkpoint SET signature = :sig WHERE org_id = :org_id", sig=forged, org_id=org.id
    )

    result = _verify(cli, org)

    assert result.exit_code == 1
    assert "checkpoint #1: signature does not verify" in result.output


# --- the expiry sweep --------------------------------------------------------------------------------


@pytest.fixture
def expiring(db, clock):
    """An organization whose ``ads`` consents last 30 days, with people in several situations."""
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "ads", consent_validity_days=30)
    make_purpose(org, clock.now(), "newsletter")
    people = {name: make_subject(org, clock.now(), external_id=name) for name in ("ann", "ben", "cai", "dan")}
    grant(org, people["ann"], clock.now(), "ads", "newsletter")
    grant(org, people["ben"], clock.now(), "ads", occurred_at=clock.now() - timedelta(days=2))
    grant(org, people["cai"], clock.now(), "ads")
    clock.advance(days=1)
    act(org, people["cai"], clock.now(), "withdraw", "ads")
    clock.advance(days=9)
    grant(org, people["dan"], clock.now(), "ads")  # lapses 40 days after the start
    return org, people


def _count(db, org, action: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(ConsentEvent)
        .where(ConsentEvent.org_id == org.id, ConsentEvent.action == action)
    )


def _state(db, subject, code: str) -> ConsentState:
    return next(
        s
        for s in db.session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id))
        if s.event.purpose.code == code
    )


def test_expiry_writes_one_expire_event_per_lapsed_grant(db, clock, expiring):
    org, people = expiring
    start = clock.now() - timedelta(days=10)
    now = clock.advance(days=21)  # 31 days after the start

    assert expire_lapsed(org, now) == 2

    db.session.expire_all()
    for name, granted_at in (("ann", start), ("ben", start - timedelta(days=2))):
        last = _events(db, people[name])[-1]
        assert (last.action, last.actor_kind, last.method) == ("expire", "system", "system")
        assert last.purpose.code == "ads"
        assert last.occurred_at == granted_at + timedelta(days=30)
        assert last.recorded_at == now
        state = _state(db, people[name], "ads")
        assert (state.status, state.event_id, state.expires_at) == ("expired", last.id, None)
    assert _state(db, people["ann"], "newsletter").status == "granted"
    assert _state(db, people["cai"], "ads").status == "withdrawn"
    assert _state(db, people["dan"], "ads").status == "granted"
    assert _count(db, org, "expire") == 2
    create_checkpoint(org, now)  # as the scheduled job would have (the events are weeks old)
    assert verify_organization(org).ok


def test_expiry_is_idempotent(db, clock, expiring):
    org, people = expiring
    now = clock.advance(days=21)
    assert expire_lapsed(org, now) == 2
    assert expire_lapsed(org, now) == 0
    assert expire_lapsed(org, clock.advance(hours=1)) == 0
    assert _count(db, org, "expire") == 2
    # Dan's grant lapses later, and is then expired once.
    assert expire_lapsed(org, clock.advance(days=9)) == 1
    assert expire_lapsed(org, clock.now()) == 0
    assert _count(db, org, "expire") == 3
    create_checkpoint(org, clock.now())  # as the scheduled job would have
    assert verify_organization(org).ok


def test_expiry_before_the_end_of_validity_does_nothing(db, clock, expiring):
    org, _ = expiring
    # Ben's grant was backdated two days: it lapses 28 days after the clock's start.
    assert expire_lapsed(org, clock.advance(days=17, hours=23)) == 0
    assert expire_lapsed(org, clock.advance(hours=1)) == 1
    assert _count(db, org, "expire") == 1


def test_scheduler_run_once_expires_and_checkpoints(db, cli, clock, expiring):
    org, _ = expiring
    clock.advance(days=21)

    result = cli.invoke(args=["scheduler", "run", "--once"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["expired"][org.slug] == 2
    assert report["checkpoints"][org.slug] == 1
    db.session.expire_all()
    assert _count(db, org, "expire") == 2
    assert verify_organization(org).ok

    again = json.loads(cli.invoke(args=["scheduler", "run", "--once"]).stdout)
    assert again["expired"][org.slug] == 0
    assert again["checkpoints"][org.slug] is None
    assert _count(db, org, "expire") == 2


# --- the event hash ---------------------------------------------------------------------------

_text = st.one_of(st.none(), st.text(max_size=40))
_time = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    action=st.sampled_from(["grant", "withdraw", "refuse", "expire", "invalidate"]),
    actor=st.tuples(st.sampled_from(["subject", "guardian", "officer", "system"]), _text, _text, _text),
    evidence=st.dictionaries(
        st.sampled_from(["ip", "locale", "note", "引用"]), st.text(max_size=30), max_size=3
    ),
    numbers=st.tuples(*[st.integers(0, 2**62)] * 6),
    policy_version_id=st.one_of(st.none(), st.integers(1, 2**31)),
    flags=st.booleans(),
    strings=st.tuples(_text, _text, st.text(max_size=40), st.text(max_size=80)),
    times=st.tuples(_time, _time, st.one_of(st.none(), _time)),
)
def test_the_event_hash_is_the_sha256_of_the_canonical_content(
    action, actor, evidence, numbers, policy_version_id, flags, strings, times
):
    """The hash is written field by field for speed: it must equal the documented definition,
    SHA-256 over ``canonical_json(event_content(...))``, for any content, Chinese and control
    characters included."""
    idempotency_key, consent_type, method, code = strings
    event = EventRow(
        id=1,
        uuid=str(uuid.UUID(int=numbers[0])),
        org_id=numbers[1],
        subject_id=numbers[2],
        seq=numbers[3],
        purpose_id=7,
        purpose_version=numbers[4],
        policy_version_id=policy_version_id,
        policy_seq=numbers[5],
        action=action,
        consent_type=consent_type,
        actor_kind=actor[0],
        actor_name=actor[1],
        actor_relationship=actor[2],
        actor_reason=actor[3],
        method=method,
        evidence=evidence,
        is_subject_initiated=flags,
        bundle_id=str(uuid.UUID(int=numbers[1])),
        bundle_size=numbers[3] % 50,
        idempotency_key=idempotency_key,
        occurred_at=times[0],
        recorded_at=times[1],
        expires_at=times[2],
        prev_hash=None if flags else "a" * 64,
    )
    expected = hashlib.sha256(canonical_json(hashing.event_content(event, code))).hexdigest()
    assert hashing.event_hash(event, code) == expected
