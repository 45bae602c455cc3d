"""The ledger as plain rows: how consent events, state rows and chain heads are written.

Every consent act (one person's request, a batch of a thousand, the expiry sweep, an import of
a million) is planned in memory as :class:`EventRow` objects and written here in a few
statements per batch: ids reserved in one statement, events copied (PostgreSQL ``COPY``) or
inserted with ``executemany``, state rows upserted, chain heads updated. The ORM's unit of work
is not involved: its bookkeeping per object cost more than everything else an act does.

Objects the session already holds for rows written here are expired (:func:`forget`), so a
caller that reads them afterwards sees the new values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, text

from consent_service.consent.models import ConsentEvent, ConsentState, Subject, is_guardian_act
from consent_service.consent.state import STATE_FIELDS, STATE_TIMES, StateView
from consent_service.database import driver_execute, in_values, insert_rows, stored_time
from consent_service.extensions import db

EVENT_COLUMNS = (
    "id",
    "uuid",
    "org_id",
    "subject_id",
    "seq",
    "purpose_id",
    "purpose_version",
    "policy_version_id",
    "policy_seq",
    "action",
    "consent_type",
    "actor_kind",
    "actor_name",
    "actor_relationship",
    "actor_reason",
    "method",
    "evidence",
    "is_subject_initiated",
    "bundle_id",
    "bundle_size",
    "idempotency_key",
    "occurred_at",
    "recorded_at",
    "expires_at",
    "prev_hash",
    "hash",
    # Last, as in EventRow (beside its defaults): written for an act's first event only.
    "idempotency_fingerprint",
)
STATE_COLUMNS = ("subject_id", "purpose_id", "org_id", *STATE_FIELDS)
#: Each state field, and whether it is a time (written as the column type stores it).
_STATE_ROW = tuple((name, name in STATE_TIMES) for name in STATE_FIELDS)
#: From this many rows on, PostgreSQL upserts states and moves heads through a COPY into a
#: temporary table (an import); fewer (an online batch) go by ``executemany``.
BULK_ROWS = 2000
# Built from the constant column lists above, never from input.
STATE_UPSERT = f"INSERT INTO consent_state ({', '.join(STATE_COLUMNS)})"  # noqa: S608
STATE_CONFLICT = "ON CONFLICT (subject_id, purpose_id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in STATE_COLUMNS[2:]
)


@dataclass(slots=True)
class EventRow:
    """One consent event as written: the columns of ``consent_event``, plus the purpose's code
    and the policy's label (which the hash and the answers name)."""

    id: int
    uuid: str
    org_id: int
    subject_id: int
    seq: int
    purpose_id: int
    purpose_version: int
    policy_version_id: int | None
    policy_seq: int
    action: str
    consent_type: str | None
    actor_kind: str
    actor_name: str | None
    actor_relationship: str | None
    actor_reason: str | None
    method: str
    evidence: dict
    is_subject_initiated: bool
    bundle_id: str
    bundle_size: int
    idempotency_key: str | None
    occurred_at: datetime
    recorded_at: datetime
    expires_at: datetime | None
    prev_hash: str | None
    hash: str = ""
    purpose_code: str = ""
    policy_label: str | None = None
    #: Beside the key, on an act's first event: the SHA-256 of the act as asked.
    idempotency_fingerprint: str | None = None

    @property
    def is_guardian_act(self) -> bool:
        """A guardian expressed this act, directly or on paper recorded by an officer."""
        return is_guardian_act(self.actor_kind, self.actor_relationship)

    @classmethod
    def from_model(cls, event: ConsentEvent) -> EventRow:
        """The row of an event loaded through the ORM."""
        values = {name: getattr(event, name) for name in EVENT_COLUMNS}
        return cls(
            **values,
            purpose_code=event.purpose.code,
            policy_label=event.policy.label if event.policy_version_id else None,
        )


@dataclass(slots=True)
class Chain:
    """A person's chain as it is being written: its head, and what the age rule needs."""

    id: int
    external_id: str
    seq: int
    head: str | None
    is_under_14: bool
    birth_date: date | None = None
    touched: bool = False


def lock_chains(org_id: int, external_ids: Iterable[str]) -> dict[str, Chain]:
    """Lock these people's chains in one statement, in id order (two batches never deadlock),
    and return them as they are now. On SQLite the transaction already holds the write lock.
    An erased person's chain is closed: it is not found, so no act is written to it."""
    query = (
        select(
            Subject.id,
            Subject.external_id,
            Subject.chain_seq,
            Subject.chain_head,
            Subject.is_under_14,
            Subject.birth_date,
        )
        .where(
            Subject.org_id == org_id,
            in_values(db.session.get_bind().dialect.name, Subject.external_id, sorted(set(external_ids))),
            Subject.erased_at.is_(None),
        )
        .order_by(Subject.id)
        .with_for_update()
    )
    return {
        r.external_id: Chain(r.id, r.external_id, r.chain_seq, r.chain_head, r.is_under_14, r.birth_date)
        for r in db.session.execute(query)
    }


def state_pairs(dialect: str, pairs: Iterable[tuple[int, int]]) -> ColumnElement[bool] | None:
    """The condition for the ``consent_state`` rows of these (subject id, purpose id) pairs
    (``None`` for no pairs), grouped by purpose so that each group probes the primary key: a
    row-value ``IN`` made SQLite scan, and a plain ``IN`` × ``IN`` reads rows not asked for."""
    by_purpose: dict[int, set[int]] = {}
    for subject_id, purpose_id in pairs:
        by_purpose.setdefault(purpose_id, set()).add(subject_id)
    if not by_purpose:
        return None
    table = ConsentState.__table__
    return or_(
        *(
            and_(
                table.c.purpose_id == purpose_id, in_values(dialect, table.c.subject_id, sorted(subject_ids))
            )
            for purpose_id, subject_ids in sorted(by_purpose.items())
        )
    )


def load_states(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StateView]:
    """The current state rows of these (subject, purpose) pairs, where they exist."""
    condition = state_pairs(db.session.get_bind().dialect.name, pairs)
    if condition is None:
        return {}
    table = ConsentState.__table__
    rows = db.session.execute(
        select(table.c.subject_id, table.c.purpose_id, *(table.c[f] for f in STATE_FIELDS)).where(condition)
    )
    return {(r[0], r[1]): StateView(*r[2:]) for r in rows}


def history(subject_id: int, purpose_id: int) -> list[ConsentEvent]:
    """Every written event of one (subject, purpose), for folding again."""
    return list(
        db.session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.subject_id == subject_id, ConsentEvent.purpose_id == purpose_id
            )
        )
    )


class Writer:
    """Writes planned rows in the session's transaction, with the fastest means of its database."""

    def __init__(self) -> None:
        self.dialect = db.session.get_bind().dialect.name
        self.mark = "%s" if self.dialect == "postgresql" else "?"

    def time(self, value: datetime | None):
        return stored_time(self.dialect, value)

    def reserve_event_ids(self, count: int) -> list[int] | range:
        """``count`` new event ids, in one statement."""
        if count == 0:
            return []
        if self.dialect == "postgresql":
            return db.session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('consent_event', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": count},
            ).all()
        start = (db.session.scalar(select(func.max(ConsentEvent.id))) or 0) + 1
        return range(start, start + count)  # the transaction holds the write lock (BEGIN IMMEDIATE)

    def event_tuple(self, e: EventRow) -> tuple:
        time = self.time
        return (
            e.id,
            e.uuid,
            e.org_id,
            e.subject_id,
            e.seq,
            e.purpose_id,
            e.purpose_version,
            e.policy_version_id,
            e.policy_seq,
            e.action,
            e.consent_type,
            e.actor_kind,
            e.actor_name,
            e.actor_relationship,
            e.actor_reason,
            e.method,
            json.dumps(e.evidence),
            e.is_subject_initiated,
            e.bundle_id,
            e.bundle_size,
            e.idempotency_key,
            time(e.occurred_at),
            time(e.recorded_at),
            time(e.expires_at),
            e.prev_hash,
            e.hash,
            e.idempotency_fingerprint,
        )

    def state_tuple(self, key: tuple[int, int], org_id: int, view: StateView) -> tuple:
        """A state row in :data:`STATE_COLUMNS` order, times as the column type stores them."""
        time = self.time
        return (
            key[0],
            key[1],
            org_id,
            *(time(getattr(view, name)) if is_time else getattr(view, name) for name, is_time in _STATE_ROW),
        )

    def insert_events(self, events: list[EventRow]) -> None:
        insert_rows(db.session, "consent_event", EVENT_COLUMNS, [self.event_tuple(e) for e in events])

    def insert_states(self, rows: list[tuple]) -> None:
        """Insert the state rows of pairs that have none yet."""
        insert_rows(db.session, "consent_state", STATE_COLUMNS, rows)

    def upsert_states(self, rows: list[tuple]) -> None:
        """Insert or replace state rows (tuples in :data:`STATE_COLUMNS` order)."""
        if len(rows) >= BULK_ROWS and self.dialect == "postgresql":
            self._bulk("import_state", "(LIKE consent_state)", STATE_COLUMNS, rows)
            columns = ", ".join(STATE_COLUMNS)
            driver_execute(db.session, f"{STATE_UPSERT} SELECT {columns} FROM import_state {STATE_CONFLICT}")  # noqa: S608
        elif rows:
            placeholders = ", ".join([self.mark] * len(STATE_COLUMNS))
            driver_execute(
                db.session, f"{STATE_UPSERT} VALUES ({placeholders}) {STATE_CONFLICT}", rows, many=True
            )

    def update_heads(self, chains: Iterable[Chain], now: datetime) -> None:
        """Move the heads of the chains that were written to."""
        rows = [(c.seq, c.head, c.id) for c in chains if c.touched]
        m, stamp = self.mark, self.time(now)
        if len(rows) >= BULK_ROWS and self.dialect == "postgresql":
            self._bulk(
                "import_head",
                "(chain_seq int, chain_head varchar(64), id bigint)",
                ("chain_seq", "chain_head", "id"),
                rows,
            )
            driver_execute(
                db.session,
                "UPDATE subject SET chain_seq = h.chain_seq, chain_head = h.chain_head, updated_at = %s "
                "FROM import_head h WHERE subject.id = h.id",
                (stamp,),
            )
        elif rows:
            driver_execute(
                db.session,
                f"UPDATE subject SET chain_seq = {m}, chain_head = {m}, updated_at = {m} WHERE id = {m}",  # noqa: S608
                [(seq, head, stamp, sid) for seq, head, sid in rows],
                many=True,
            )

    def _bulk(self, name: str, definition: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """PostgreSQL: COPY many rows into an emptied temporary table (dropped at commit)."""
        driver_execute(
            db.session, f"CREATE TEMP TABLE IF NOT EXISTS {name} {definition} ON COMMIT DROP; TRUNCATE {name}"
        )
        insert_rows(db.session, name, columns, rows)


def forget(subject_ids: Iterable[int], state_keys: Iterable[tuple[int, int]]) -> None:
    """Expire what the session holds of rows written beside it, so that it reads them again."""
    session = db.session()
    held = [(key, obj) for key, obj in session.identity_map.items() if key[0] in (Subject, ConsentState)]
    if not held:
        return
    subjects, states = {(sid,) for sid in subject_ids}, set(state_keys)
    for (model, primary_key, *_), obj in held:
        if primary_key in (subjects if model is Subject else states):
            session.expire(obj)
