"""The audit trail: who did what, appended to a hash chain per organization (PIPL 51, 54;
GB/T 35273 11.7, 操作记录).

Every API write, every command and every job run that changed something adds one entry
(:func:`record`) in the transaction of the work it records, so an entry exists if, and only
if, that work was committed. Entries hold identifiers and codes only, never personal data: a
client id, a staff id or a job name as the actor, ``kind:id`` as the target.

Appends to one trail are serialized on its :class:`~consent_service.audit.models.AuditHead`
row (``UPDATE ... RETURNING`` locks it on PostgreSQL; SQLite's write lock serializes all
writers), so ``seq`` has no gap and each entry's ``prev_hash`` is its predecessor's hash, while
writers of other organizations never wait. The signed checkpoints cover each trail's head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from consent_service.audit.models import SERVICE_TRAIL, AuditEntry, AuditHead
from consent_service.canonical import canonical_json
from consent_service.clock import utcnow
from consent_service.consent.hashing import iso_utc
from consent_service.extensions import db
from consent_service.unit_of_work import unit_of_work

#: Who can act: an API client, a staff member, a scheduled job, a command, the person.
ACTOR_KINDS = ("staff", "client", "job", "command", "subject")

_ENTRY = AuditEntry.__table__
_HEAD = AuditHead.__table__
#: Every column of an entry: the fields its hash covers, then the hash.
COLUMNS = (
    "org_id",
    "seq",
    "at",
    "actor_kind",
    "actor",
    "action",
    "target",
    "outcome",
    "details",
    "prev_hash",
    "hash",
)
#: The statements of an append, built once (compiled once, then from SQLAlchemy's cache).
_APPEND = insert(_ENTRY).values({name: bindparam(f"b_{name}") for name in COLUMNS})
_ADVANCE = update(_HEAD).where(_HEAD.c.trail == bindparam("b_trail")).values(hash=bindparam("b_hash"))
#: Take the trail's next number, and lock its head until the transaction ends.
_CLAIM = (
    update(_HEAD)
    .where(_HEAD.c.trail == bindparam("b_trail"))
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
#: On PostgreSQL, the entry and the head's new hash in one round trip (a writable CTE).
_ADDED = _APPEND.returning(_ENTRY.c.hash).cte("added")
_APPEND_IN_ONE = (
    update(_HEAD)
    .where(_HEAD.c.trail == bindparam("b_trail"))
    .values(hash=select(_ADDED.c.hash).scalar_subquery())
)


def entry_content(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an entry's hash covers: everything but its id and its own hash."""
    return {
        "org_id": entry["org_id"],
        "seq": entry["seq"],
        "at": iso_utc(entry["at"]),
        "actor": [entry["actor_kind"], entry["actor"]],
        "action": entry["action"],
        "target": entry["target"],
        "outcome": entry["outcome"],
        "details": entry["details"],
        "prev_hash": entry["prev_hash"],
    }


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the entry's canonical JSON (its ``prev_hash`` included)."""
    return hashlib.sha256(canonical_json(entry_content(entry))).hexdigest()


def record(
    org_id: int | None,
    actor_kind: str,
    actor: str,
    action: str,
    target: str | None = None,
    outcome: str | None = None,
    details: dict[str, Any] | None = None,
    *,
    now: datetime,
) -> dict[str, Any]:
    """Append one entry to ``org_id``'s trail (``None``: the service's own) in the caller's
    transaction; it is written, never committed, here. Returns the entry's columns.

    ``details`` holds identifiers and codes only (the before and after of changed fields).
    """
    if actor_kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor kind {actor_kind!r}")
    trail = SERVICE_TRAIL if org_id is None else org_id
    seq, prev_hash = _claim(trail)
    entry = {
        "org_id": org_id,
        "seq": seq,
        "at": now,
        "actor_kind": actor_kind,
        "actor": actor,
        "action": action,
        "target": target,
        "outcome": outcome,
        "details": details,
        "prev_hash": prev_hash,
    }
    entry["hash"] = entry_hash(entry)
    params = {f"b_{name}": value for name, value in entry.items()}
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_APPEND_IN_ONE, {**params, "b_trail": trail})
    else:
        db.session.execute(_APPEND, params)
        db.session.execute(_ADVANCE, {"b_trail": trail, "b_hash": entry["hash"]})
    return entry


def record_now(
    org_id: int | None,
    actor_kind: str,
    actor: str,
    action: str,
    target: str | None = None,
    outcome: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """:func:`record` at the clock's time: what the API, commands and jobs are provided with
    (:class:`~consent_service.commands.AuditRecorder`)."""
    record(org_id, actor_kind, actor, action, target, outcome, details, now=utcnow())


def record_job_run(name: str, result: Any) -> None:
    """A job run's entry in the service's trail (``job:<name>``, its result counts), in a unit
    of work of its own after the job's; a run that changed nothing (all counts zero or empty)
    is not recorded, or the trail would grow by every poll of the outboxes."""
    if not _changed_something(result):
        return
    with unit_of_work():
        record(
            None,
            "job",
            name,
            f"job:{name}",
            outcome="ok",
            details={"result": json.loads(json.dumps(result, default=str))},
            now=utcnow(),
        )


def _changed_something(result: Any) -> bool:
    """Whether a job's result counts anything (a number above zero, or a value at all)."""
    if isinstance(result, dict):
        return any(_changed_something(value) for value in result.values())
    if isinstance(result, list | tuple):
        return any(_changed_something(value) for value in result)
    if isinstance(result, bool) or result is None:
        return bool(result)
    if isinstance(result, int | float):
        return result > 0
    return True


def _claim(trail: int) -> tuple[int, str | None]:
    """The next number of ``trail`` and the hash before it, the trail's head locked until the
    transaction ends."""
    row = db.session.execute(_CLAIM, {"b_trail": trail}).first()
    if row is not None:
        return row.seq, row.hash
    dialect = db.session.get_bind().dialect.name
    first = (pg_insert if dialect == "postgresql" else sqlite_insert)(_HEAD).values(
        trail=trail, seq=1, hash=None
    )
    # Two first writers at once: the one that loses waits for the other, then claims after it.
    if db.session.execute(
        first.on_conflict_do_nothing(index_elements=["trail"]).returning(_HEAD.c.seq)
    ).first():
        return 1, None
    row = db.session.execute(_CLAIM, {"b_trail": trail}).one()
    return row.seq, row.hash


def trail_head(org_id: int | None) -> tuple[int, str | None] | None:
    """The ``(seq, hash)`` of ``org_id``'s newest entry as its head row says, if any."""
    trail = SERVICE_TRAIL if org_id is None else org_id
    row = db.session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.trail == trail)).first()
    return (row.seq, row.hash) if row is not None else None
