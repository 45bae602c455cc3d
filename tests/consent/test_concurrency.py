"""Concurrent writers on PostgreSQL: one writer per person, people in parallel.

These tests commit for real (no rolled-back ``db`` fixture): each thread pushes its own
application context, so Flask-SQLAlchemy gives it its own session on its own connection,
exactly as concurrent requests get. They check that

* simultaneous grants and withdrawals for the same person serialize on that person's lock:
  the hash chain stays whole, ``seq`` is contiguous and every ``ConsentState`` equals the
  fold of its events, with no deadlock or serialization failure to retry;
* simultaneous retries of one act with the same idempotency key record it once;
* a transaction holding one person's lock does not delay writes for another person, while
  a second write for the same person waits for it (and here gives up at ``lock_timeout``).

Synchronization is by barriers and events only. The organization and people are created
with unique names, committed, and deleted again at the end of the module.
"""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import OperationalError

from consent_service.audit.verify import verify_organization
from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.consent.service import record_act
from consent_service.consent.state import StateView, apply, fold
from consent_service.consent.subjects import get_subject
from consent_service.extensions import db
from consent_service.organizations.service import get_organization
from consent_service.receipts import keys
from consent_service.receipts.models import ConsentReceipt, SigningKey
from tests.conftest import T0
from tests.factories import make_org, make_purpose, make_subject

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs DATABASE_URL to point at PostgreSQL",
    ),
]

NOW = T0 + timedelta(hours=1)
THREADS = 8
ACTS_PER_THREAD = 6
#: serialization_failure, deadlock_detected: worth retrying the whole transaction.
RETRYABLE = {"40001", "40P01"}
LOCK_NOT_AVAILABLE = "55P03"
WAIT = 60  # seconds; only a bound on waits for events, never a synchronization


def _sqlstate(exc: OperationalError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


@pytest.fixture(scope="module")
def world(app):
    """A committed organization with two purposes and people, removed after the module."""
    slug = f"conc-{uuid.uuid4().hex[:12]}"
    with app.app_context():
        key_ids = set(db.session.scalars(select(SigningKey.id)))
        org = make_org(T0, slug=slug)
        make_purpose(org, T0, "marketing")
        make_purpose(org, T0, "analytics")
        for name in ("shared", "retried", "person-a", "person-b"):
            make_subject(org, T0, external_id=name)
        keys.active_key(T0)  # the signing key exists before the threads sign receipts
        org_id = org.id
        db.session.commit()
    yield slug
    with app.app_context():
        for table in ("consent_receipt", "consent_state", "consent_event", "ledger_checkpoint", "subject"):
            db.session.execute(text(f"DELETE FROM {table} WHERE org_id = :org"), {"org": org_id})
        db.session.execute(
            text(
                "DELETE FROM purpose_version WHERE purpose_id IN (SELECT id FROM purpose WHERE org_id = :org)"
            ),
            {"org": org_id},
        )
        db.session.execute(text("DELETE FROM purpose WHERE org_id = :org"), {"org": org_id})
        db.session.execute(text("DELETE FROM organization WHERE id = :org"), {"org": org_id})
        for row in db.session.scalars(select(SigningKey).where(SigningKey.id.not_in(key_ids or {0}))):
            db.session.delete(row)
        db.session.commit()


def _in_transaction(work, retries: list[str]):
    """Run ``work`` and commit; retry the whole transaction on a serialization failure."""
    for _ in range(10):
        try:
            result = work()
            db.session.commit()
            return result
        except OperationalError as exc:
            db.session.rollback()
            if _sqlstate(exc) not in RETRYABLE:
                raise
            retries.append(_sqlstate(exc))
    raise AssertionError(f"gave up after {len(retries)} retries")


def _run_threads(app, count: int, target):
    """Run ``target(index)`` in ``count`` threads, each in its own application context."""

    def in_context(index: int):
        with app.app_context():
            return target(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(in_context, index) for index in range(count)]
        return [future.result(timeout=WAIT) for future in futures]


def _as_view(state: ConsentState) -> StateView:
    return StateView(
        status=state.status,
        event_id=state.event_id,
        event_uuid=state.event_uuid,
        purpose_version=state.purpose_version,
        policy_seq=state.policy_seq,
        consent_type=state.consent_type,
        is_guardian_act=state.is_guardian_act,
        occurred_at=state.occurred_at,
        expires_at=state.expires_at,
        refused_at=state.refused_at,
    )


def test_simultaneous_acts_for_one_person_keep_the_chain_whole(app, world):
    barrier = threading.Barrier(THREADS)
    retries: list[str] = []

    def writer(index: int) -> dict[str, int]:
        org = get_organization(world)
        written = {"grant": 0, "withdraw": 0}
        barrier.wait(timeout=WAIT)  # every thread starts writing at once
        for k in range(ACTS_PER_THREAD):
            action = "grant" if (index + k) % 2 == 0 else "withdraw"
            purposes = [["marketing"], ["analytics"], ["marketing", "analytics"]][(index + k) % 3]
            # Some acts are backdated, some tie: the fold orders them, not the arrival.
            occurred_at = NOW - timedelta(minutes=(index * 7 + k * 3) % 5)

            def work(action=action, purposes=purposes, occurred_at=occurred_at):
                subject = get_subject(org, "shared")
                result = record_act(
                    org,
                    subject,
                    NOW,
                    purposes=purposes,
                    action=action,
                    consent_type="explicit" if action == "grant" else None,
                    occurred_at=occurred_at,
                )
                return len(result.events)

            count = _in_transaction(work, retries)
            if action == "grant":
                assert count == len(purposes), "a grant always writes, one event per purpose"
            written[action] += count
        return written

    results = _run_threads(app, THREADS, writer)

    assert retries == [], "writers for one person should wait on its lock, not deadlock"
    with app.app_context():
        org = get_organization(world)
        subject = get_subject(org, "shared")
        events = list(
            db.session.scalars(
                select(ConsentEvent).where(ConsentEvent.subject_id == subject.id).order_by(ConsentEvent.seq)
            )
        )
        grants = sum(r["grant"] for r in results)
        withdrawals = sum(r["withdraw"] for r in results)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert (subject.chain_seq, subject.chain_head) == (len(events), events[-1].hash)
        assert len(events) == grants + withdrawals
        assert sum(e.action == "grant" for e in events) == grants
        assert grants == sum(
            len([["marketing"], ["analytics"], ["marketing", "analytics"]][(i + k) % 3])
            for i in range(THREADS)
            for k in range(ACTS_PER_THREAD)
            if (i + k) % 2 == 0
        )

        receipts = db.session.scalars(
            select(ConsentReceipt.event_id).where(ConsentReceipt.event_id.in_([e.id for e in events]))
        ).all()
        assert sorted(receipts) == sorted(e.id for e in events if e.action == "grant")

        states = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id)).all()
        assert {s.purpose_id for s in states} == {e.purpose_id for e in events}
        for state in states:
            history = [e for e in events if e.purpose_id == state.purpose_id]
            assert _as_view(state) == fold(history)
            # A withdrawal is written only while the consent is in force: none was lost or doubled.
            view = None
            for event in history:
                if event.action == "withdraw":
                    assert view is not None and view.status == "granted", f"withdrawal #{event.seq}"
                view = apply(view, event)

        report = verify_organization(org)
        assert report.ok, report.problems


def test_simultaneous_retries_with_one_idempotency_key_record_once(app, world):
    barrier = threading.Barrier(THREADS)
    retries: list[str] = []

    def retry(index: int) -> tuple[bool, list[str]]:
        org = get_organization(world)
        barrier.wait(timeout=WAIT)

        def work():
            result = record_act(
                org,
                get_subject(org, "retried"),
                NOW,
                purposes=["marketing", "analytics"],
                action="grant",
                consent_type="explicit",
                idempotency_key="signup-form-42",
            )
            return result.is_replay, [e.uuid for e in result.events]

        return _in_transaction(work, retries)

    results = _run_threads(app, THREADS, retry)

    assert retries == []
    assert sorted(replay for replay, _ in results) == [False] + [True] * (THREADS - 1)
    assert len({tuple(uuids) for _, uuids in results}) == 1
    with app.app_context():
        org = get_organization(world)
        subject = get_subject(org, "retried")
        events = db.session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)).all()
        assert sorted(e.seq for e in events) == [1, 2]
        assert verify_organization(org).ok


def test_writes_for_different_people_proceed_in_parallel(app, world):
    a_locked = threading.Event()
    release = threading.Event()

    def hold_person_a(_index: int) -> int:
        """Record an act for person A and keep the transaction (and A's lock) open."""
        org = get_organization(world)
        subject = get_subject(org, "person-a")
        record_act(org, subject, NOW, purposes=["marketing"], action="grant", consent_type="explicit")
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        holder["pid"] = pid
        a_locked.set()
        try:
            assert release.wait(timeout=WAIT), "the main thread never released person A"
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return pid

    holder: dict[str, int] = {}
    pool = ThreadPoolExecutor(max_workers=1)

    def in_context(index: int) -> int:
        with app.app_context():
            return hold_person_a(index)

    future = pool.submit(in_context, 0)
    try:
        assert a_locked.wait(timeout=WAIT), "person A's transaction did not start"
        with app.app_context():

            def holder_state() -> str:
                state = db.session.scalar(
                    text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": holder["pid"]}
                )
                db.session.rollback()
                return state

            assert holder_state() == "idle in transaction"

            # Person B, on another connection: not delayed by A's open transaction.
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            org = get_organization(world)
            result = record_act(
                org,
                get_subject(org, "person-b"),
                NOW,
                purposes=["marketing"],
                action="grant",
                consent_type="explicit",
            )
            db.session.commit()
            assert [e.seq for e in result.events] == [1]
            assert not future.done()
            assert holder_state() == "idle in transaction"  # A's transaction is still open

            # Person A again, on this connection: waits for A's lock and gives up.
            db.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            org = get_organization(world)
            with pytest.raises(OperationalError) as caught:
                record_act(
                    org,
                    get_subject(org, "person-a"),
                    NOW,
                    purposes=["analytics"],
                    action="grant",
                    consent_type="explicit",
                )
            assert _sqlstate(caught.value) == LOCK_NOT_AVAILABLE
            db.session.rollback()
            assert not future.done()
    finally:
        release.set()
        pool.shutdown(wait=True)
    future.result(timeout=WAIT)

    with app.app_context():
        org = get_organization(world)
        for name in ("person-a", "person-b"):
            subject = db.session.scalars(
                select(Subject).where(Subject.org_id == org.id, Subject.external_id == name)
            ).one()
            events = db.session.scalars(
                select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
            ).all()
            assert [(e.seq, e.action) for e in events] == [(1, "grant")], name
            assert subject.chain_seq == 1
        assert verify_organization(org).ok


def test_hot_paths_read_committed_state_on_their_own_autocommit_connection(app, world):
    """The decision routes' raw autocommit path (used in production) answers as decide() does."""
    from consent_service.consent.decisions import decide
    from consent_service.consent.hotpath import decide_many, decide_with_token
    from consent_service.oauth import service as oauth
    from consent_service.oauth.models import OAuthClient, OAuthToken
    from consent_service.policies.models import Purpose

    with app.app_context():
        org = get_organization(world)
        issued = oauth.create_client(org, "hot path", ["consents:read"], T0)
        token = "hot-path-token-" + uuid.uuid4().hex
        db.session.add(
            OAuthToken(
                access_token_hash=oauth.hash_secret(token),
                client_pk=issued.client.id,
                org_id=org.id,
                scope="consents:read",
                issued_at=T0,
                expires_at=T0 + timedelta(days=3650),
            )
        )
        db.session.commit()
        client_pk = issued.client.id
        now = datetime.now(UTC)
        people = [s.external_id for s in db.session.scalars(select(Subject).where(Subject.org_id == org.id))]
        codes = [p.code for p in db.session.scalars(select(Purpose).where(Purpose.org_id == org.id))]
        pairs = [(s, c) for s in [*people, "nobody"] for c in [*codes, "nothing"]]
        app.config["READ_AUTOCOMMIT"] = True
        try:
            many = decide_many(org.id, org.timezone, pairs, now)
            for (person, code), batch in zip(pairs, many, strict=True):
                expected = decide(org, person, code, now, now)
                assert decide_with_token(token, person, code, "consents:read", now) == expected
                assert batch == expected
        finally:
            app.config["READ_AUTOCOMMIT"] = False
            db.session.execute(delete(OAuthToken).where(OAuthToken.client_pk == client_pk))
            db.session.execute(delete(OAuthClient).where(OAuthClient.id == client_pk))
            db.session.commit()
