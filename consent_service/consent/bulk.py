"""Bulk import of consent acts: migrating a history from another consent platform.

``flask consents import FILE --org SLUG`` reads CSV or JSON lines (one act per row, in the
order they were recorded there) and appends them to the ledger in one transaction: the hash
chains, the current state and the chain heads come out exactly as if each act had been
recorded through :func:`consent_service.consent.service.record_act`; anything invalid stops
the import with its line number and nothing is written.

It differs from online recording on purpose: acts of the past are not re-prompts (the 48-hour
rule of GB/T C.4 b does not apply), the source platform issued the receipts (none are signed
here), and no webhooks are sent for history. It is fast because it works on plain rows: event
ids are reserved in one statement, events go in with COPY on PostgreSQL, state rows are upserted
and chain heads updated in batches.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from consent_service.consent import ledger
from consent_service.consent.models import ACTOR_KINDS, CONSENT_TYPES, ConsentEvent, ConsentState, Subject
from consent_service.consent.service import CONSENT_TYPE_RANK, REQUIREMENT_RANK
from consent_service.consent.state import STATE_FIELDS, StateView, apply, fold
from consent_service.consent.subjects import minor_at
from consent_service.errors import DomainError
from consent_service.extensions import db
from consent_service.policies.models import Organization, PolicyVersion, Purpose, PurposeVersion

ACTIONS = ("grant", "withdraw", "refuse")
EVIDENCE_FIELDS = ("ip", "user_agent", "locale", "notice_sha256", "document_ref")
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
)


STATE_COLUMNS = ("subject_id", "purpose_id", "org_id", *STATE_FIELDS)


#: Imports at least this large refresh the planner's statistics.
ANALYZE_AFTER = 10_000
# Built from the constant column list above, never from input.
STATE_UPSERT = f"INSERT INTO consent_state ({', '.join(STATE_COLUMNS)})"  # noqa: S608
STATE_CONFLICT = "ON CONFLICT (subject_id, purpose_id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in STATE_COLUMNS[2:]
)


class ImportRefused(DomainError):
    """A row of the import is invalid or breaks a rule; nothing was written."""

    code = "import_refused"
    status = 422


@dataclass(slots=True)
class Act:
    """One event being imported, with the attributes :func:`ledger.event_content` reads."""

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

    @property
    def is_guardian_act(self) -> bool:
        return self.actor_kind == "guardian" or (
            self.actor_kind == "officer" and bool(self.actor_relationship)
        )


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    events: int = 0
    skipped: int = 0
    subjects_created: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` from a ``.csv`` file or a JSON-lines file (``.jsonl``/``.ndjson``)."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield number, {k: v for k, v in row.items() if v not in ("", None)}
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ImportRefused(f"line {number}: not JSON ({exc})") from exc
                if not isinstance(row, dict):
                    raise ImportRefused(f"line {number}: not a JSON object")
                yield number, row


def _parse_time(value: Any, number: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ImportRefused(f"line {number}: occurred_at {value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise ImportRefused(f"line {number}: occurred_at needs a time zone")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class _Purpose:
    id: int
    code: str
    version: int
    legal_basis: str
    required_rank: int
    validity_days: int | None


def _purposes(org: Organization) -> dict[str, _Purpose]:
    rows = db.session.execute(
        select(Purpose.id, Purpose.code, PurposeVersion)
        .join(
            PurposeVersion,
            (PurposeVersion.purpose_id == Purpose.id) & (PurposeVersion.version == Purpose.current_version),
        )
        .where(Purpose.org_id == org.id)
    ).all()
    out = {}
    for purpose_id, code, version in rows:
        required = version.consent_requirement
        if version.needs_separate_consent:
            required = max(required, "separate", key=REQUIREMENT_RANK.get)
        if version.is_sensitive:
            required = max(required, "explicit", key=REQUIREMENT_RANK.get)
        out[code] = _Purpose(
            purpose_id,
            code,
            version.version,
            version.legal_basis,
            REQUIREMENT_RANK[required],
            version.consent_validity_days,
        )
    return out


class _Importer:
    """One import: purpose and policy maps, then chunk after chunk in the caller's transaction."""

    def __init__(self, org: Organization, now: datetime) -> None:
        self.org = org
        self.now = now
        self.purposes = _purposes(org)
        self.policies = {
            label: (pid, seq)
            for pid, label, seq in db.session.execute(
                select(PolicyVersion.id, PolicyVersion.label, PolicyVersion.seq).where(
                    PolicyVersion.org_id == org.id, PolicyVersion.status == "published"
                )
            )
        }
        self.dialect = db.engine.dialect.name
        self.report = ImportReport()
        self._pending: list[Act] = []
        self._touched: set[tuple[int, int]] = set()
        # SQLite keeps times as text: write them exactly as SQLAlchemy does, so they compare.
        self._time = _naive if self.dialect == "postgresql" else _sqlite_time

    # --- one chunk ---------------------------------------------------------------------
    def chunk(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        parsed = [self._parse(number, row) for number, row in rows]
        subjects = self._subjects({p["subject"] for p in parsed})
        states = self._states([s["id"] for s in subjects.values()])
        ids = iter(self._reserve_ids(len(parsed)))
        acts: list[Act] = []
        self._pending, self._touched = acts, set()
        for item in parsed:
            act = self._act(item, subjects[item["subject"]], states, ids)
            if act is not None:
                acts.append(act)
        self._write(acts, subjects, states)
        self.report.rows += len(rows)
        self.report.events += len(acts)

    def _parse(self, number: int, row: dict[str, Any]) -> dict[str, Any]:
        def fail(message: str):
            raise ImportRefused(f"line {number}: {message}")

        subject = row.get("subject")
        if not isinstance(subject, str) or not 0 < len(subject) <= 200:
            fail("subject must be 1-200 characters")
        purpose = self.purposes.get(row.get("purpose"))
        if purpose is None:
            fail(f"unknown purpose {row.get('purpose')!r}")
        action = row.get("action")
        if action not in ACTIONS:
            fail(f"action must be one of {', '.join(ACTIONS)}")
        consent_type = row.get("consent_type")
        if action == "grant":
            if consent_type not in CONSENT_TYPES:
                fail(f"a grant needs consent_type, one of {', '.join(CONSENT_TYPES)}")
            if purpose.legal_basis != "consent":
                fail(f"purpose {purpose.code!r} does not rest on consent (PIPL 13)")
            if CONSENT_TYPE_RANK[consent_type] < purpose.required_rank:
                fail(f"purpose {purpose.code!r} needs a stronger consent than {consent_type}")
        actor_kind = row.get("actor_kind", "subject")
        if actor_kind not in ACTOR_KINDS or actor_kind == "system":
            fail("actor_kind must be subject, guardian or officer")
        if actor_kind == "guardian" and not (row.get("actor_name") and row.get("actor_relationship")):
            fail("a guardian needs actor_name and actor_relationship (PIPL 31)")
        if actor_kind == "officer" and not (row.get("actor_name") and row.get("actor_reason")):
            fail("an officer needs actor_name and actor_reason")
        policy = (None, 0)
        if row.get("policy_version"):
            policy = self.policies.get(row["policy_version"])
            if policy is None:
                fail(f"policy version {row['policy_version']!r} is not published")
        occurred_at = _parse_time(row.get("occurred_at"), number)
        if occurred_at > self.now + timedelta(minutes=5):
            fail("occurred_at is in the future")
        evidence = {k: str(row[k]) for k in EVIDENCE_FIELDS if row.get(k) not in (None, "")}
        return {
            "number": number,
            "subject": subject,
            "purpose": purpose,
            "action": action,
            "consent_type": consent_type if action == "grant" else None,
            "actor_kind": actor_kind,
            "actor_name": row.get("actor_name"),
            "actor_relationship": row.get("actor_relationship"),
            "actor_reason": row.get("actor_reason"),
            "policy": policy,
            "occurred_at": occurred_at,
            "method": row.get("method", "import"),
            "evidence": evidence,
        }

    def _subjects(self, external_ids: set[str]) -> dict[str, dict[str, Any]]:
        columns = (
            Subject.id,
            Subject.external_id,
            Subject.chain_seq,
            Subject.chain_head,
            Subject.is_under_14,
            Subject.birth_date,
        )
        query = select(*columns).where(
            Subject.org_id == self.org.id, Subject.external_id.in_(sorted(external_ids))
        )
        if self.dialect == "postgresql":
            query = query.order_by(Subject.id).with_for_update()
        found = {r.external_id: r._asdict() for r in db.session.execute(query)}
        missing = sorted(external_ids - set(found))
        if missing:
            db.session.execute(
                Subject.__table__.insert(),
                [
                    {
                        "org_id": self.org.id,
                        "external_id": e,
                        "chain_seq": 0,
                        "is_under_14": False,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                    for e in missing
                ],
            )
            self.report.subjects_created += len(missing)
            query = select(*columns).where(Subject.org_id == self.org.id, Subject.external_id.in_(missing))
            found.update({r.external_id: r._asdict() for r in db.session.execute(query)})
        return found

    def _states(self, subject_ids: list[int]) -> dict[tuple[int, int], StateView]:
        table = ConsentState.__table__
        rows = db.session.execute(select(table).where(table.c.subject_id.in_(subject_ids)))
        return {
            (r.subject_id, r.purpose_id): StateView(
                status=r.status,
                event_id=r.event_id,
                purpose_version=r.purpose_version,
                policy_seq=r.policy_seq,
                consent_type=r.consent_type,
                is_guardian_act=r.is_guardian_act,
                occurred_at=r.occurred_at,
                expires_at=r.expires_at,
                refused_at=r.refused_at,
            )
            for r in rows
        }

    def _reserve_ids(self, count: int) -> range | list[int]:
        if self.dialect == "postgresql":
            sequence = db.session.scalar(text("SELECT pg_get_serial_sequence('consent_event', 'id')"))
            return db.session.scalars(
                text("SELECT nextval(:seq) FROM generate_series(1, :n)"), {"seq": sequence, "n": count}
            ).all()
        start = (db.session.scalar(select(func.max(ConsentEvent.id))) or 0) + 1
        return range(start, start + count)  # SQLite: the write lock is held (BEGIN IMMEDIATE)

    def _act(
        self, item: dict[str, Any], subject: dict[str, Any], states: dict, ids: Iterator[int]
    ) -> Act | None:
        purpose: _Purpose = item["purpose"]
        key = (subject["id"], purpose.id)
        state = states.get(key)
        if item["action"] == "withdraw" and (state is None or state.status != "granted"):
            self.report.skipped += 1  # withdrawing what is not in force records nothing (PIPL 15)
            return None
        is_guardian = item["actor_kind"] == "guardian" or (
            item["actor_kind"] == "officer" and bool(item["actor_relationship"])
        )
        if (
            item["action"] == "grant"
            and not is_guardian
            and minor_at(
                subject["is_under_14"], subject["birth_date"], self.org.timezone, item["occurred_at"]
            )
        ):
            raise ImportRefused(
                f"line {item['number']}: the subject is under 14: a guardian must consent (PIPL 31)"
            )
        expires_at = None
        if item["action"] == "grant" and purpose.validity_days:
            expires_at = item["occurred_at"] + timedelta(days=purpose.validity_days)
        seq = subject["chain_seq"] + 1
        act = Act(
            id=next(ids),
            uuid=str(uuid.uuid4()),
            org_id=self.org.id,
            subject_id=subject["id"],
            seq=seq,
            purpose_id=purpose.id,
            purpose_version=purpose.version,
            policy_version_id=item["policy"][0],
            policy_seq=item["policy"][1],
            action=item["action"],
            consent_type=item["consent_type"],
            actor_kind=item["actor_kind"],
            actor_name=item["actor_name"],
            actor_relationship=item["actor_relationship"],
            actor_reason=item["actor_reason"],
            method=item["method"],
            evidence=item["evidence"],
            is_subject_initiated=False,
            bundle_id=str(uuid.uuid4()),
            bundle_size=1,
            idempotency_key=None,
            occurred_at=item["occurred_at"],
            recorded_at=self.now,
            expires_at=expires_at,
            prev_hash=subject["chain_head"],
        )
        act.hash = ledger.event_hash(act, purpose.code)
        subject["chain_seq"], subject["chain_head"] = seq, act.hash
        subject["touched"] = True
        if state is not None and act.occurred_at < state.occurred_at:
            states[key] = self._refold(key, act)
        else:
            states[key] = apply(state, act)
        self._touched.add(key)
        return act

    def _refold(self, key: tuple[int, int], act: Act) -> StateView:
        """An act older than the state: fold the pair's whole history, written and pending."""
        history = list(
            db.session.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.subject_id == key[0], ConsentEvent.purpose_id == key[1]
                )
            )
        )
        pending = [a for a in self._pending if (a.subject_id, a.purpose_id) == key]
        return fold([*history, *pending, act])

    # --- writing ------------------------------------------------------------------------
    def _write(self, acts: list[Act], subjects: dict[str, dict], states: dict) -> None:
        if acts:
            self._insert_events(acts)
        rows = [
            (
                subject_id,
                purpose_id,
                self.org.id,
                view.status,
                view.event_id,
                view.purpose_version,
                view.policy_seq,
                view.consent_type,
                view.is_guardian_act,
                self._time(view.occurred_at),
                self._time(view.expires_at),
                self._time(view.refused_at),
            )
            for subject_id, purpose_id in sorted(self._touched)
            for view in (states[(subject_id, purpose_id)],)
        ]
        heads = [(s["id"], s["chain_seq"], s["chain_head"]) for s in subjects.values() if s.get("touched")]
        if self.dialect == "postgresql":
            self._write_pg(rows, heads)
            return
        cursor = db.session.connection().connection.driver_connection.cursor()
        if rows:
            placeholders = ", ".join("?" * len(STATE_COLUMNS))
            cursor.executemany(f"{STATE_UPSERT} VALUES ({placeholders}) {STATE_CONFLICT}", rows)
        if heads:
            now = self._time(self.now)
            cursor.executemany(
                "UPDATE subject SET chain_seq = ?, chain_head = ?, updated_at = ? WHERE id = ?",
                [(seq, head, now, sid) for sid, seq, head in heads],
            )

    def _write_pg(self, rows: list[tuple], heads: list[tuple]) -> None:
        """PostgreSQL: COPY into temporary tables, then one upsert and one update."""
        cursor = db.session.connection().connection.driver_connection.cursor()
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS import_state (LIKE consent_state) ON COMMIT DROP;"
            "CREATE TEMP TABLE IF NOT EXISTS import_head (id bigint, chain_seq int, chain_head varchar(64))"
            " ON COMMIT DROP;"
            "TRUNCATE import_state, import_head"
        )
        with cursor.copy(f"COPY import_state ({', '.join(STATE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with cursor.copy("COPY import_head (id, chain_seq, chain_head) FROM STDIN") as copy:
            for row in heads:
                copy.write_row(row)
        cursor.execute(f"{STATE_UPSERT} SELECT {', '.join(STATE_COLUMNS)} FROM import_state {STATE_CONFLICT}")  # noqa: S608  (constant column names)
        cursor.execute(
            "UPDATE subject SET chain_seq = h.chain_seq, chain_head = h.chain_head, updated_at = %s "
            "FROM import_head h WHERE subject.id = h.id",
            (self._time(self.now),),
        )

    def _insert_events(self, acts: list[Act]) -> None:
        def row(a: Act) -> tuple:
            return (
                a.id,
                a.uuid,
                a.org_id,
                a.subject_id,
                a.seq,
                a.purpose_id,
                a.purpose_version,
                a.policy_version_id,
                a.policy_seq,
                a.action,
                a.consent_type,
                a.actor_kind,
                a.actor_name,
                a.actor_relationship,
                a.actor_reason,
                a.method,
                json.dumps(a.evidence),
                a.is_subject_initiated,
                a.bundle_id,
                a.bundle_size,
                a.idempotency_key,
                self._time(a.occurred_at),
                self._time(a.recorded_at),
                self._time(a.expires_at),
                a.prev_hash,
                a.hash,
            )

        if self.dialect == "postgresql":
            cursor = db.session.connection().connection.driver_connection.cursor()
            with cursor.copy(f"COPY consent_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for a in acts:
                    copy.write_row(row(a))
            return
        placeholders = ", ".join("?" for _ in EVENT_COLUMNS)
        cursor = db.session.connection().connection.driver_connection.cursor()
        cursor.executemany(
            f"INSERT INTO consent_event ({', '.join(EVENT_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
            [row(a) for a in acts],
        )


def _naive(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


def import_acts(
    org: Organization, rows: Iterable[tuple[int, dict[str, Any]]], now: datetime, chunk_size: int = 10000
) -> ImportReport:
    """Append ``rows`` (``(line number, act)``) to the ledger in the caller's transaction."""
    importer = _Importer(org, now)
    iterator = iter(rows)
    while chunk := list(islice(iterator, chunk_size)):
        importer.chunk(chunk)
    db.session.expire_all()  # rows were written beside the ORM: reload what it holds
    if importer.report.events >= ANALYZE_AFTER:
        # The planner's statistics are stale after a large load (batch decisions would scan).
        db.session.execute(
            text(
                "ANALYZE consent_event, consent_state, subject"
                if importer.dialect == "postgresql"
                else "ANALYZE"
            )
        )
    return importer.report
