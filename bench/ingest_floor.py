"""What PostgreSQL alone takes to store an import's rows: the floor under ``flask consents import``.

Builds the rows of N grants (people x purposes) in memory first, with no Python work counted,
then times only the database: ``COPY`` of the events, ``COPY`` of the new state rows, and the
chain heads moved through a temporary table, in one transaction, as the import writes them.
It runs three times on the same rows, each transaction rolled back: with the schema as
migrated; with the tables' foreign keys dropped (and added back, validated once, at the end);
and into bare copies of the tables, with no key, index or constraint at all (the floor of COPY
itself on this machine).

    .venv/bin/python bench/ingest_floor.py \\
        --database-url "postgresql+psycopg://postgres@/floor?host=/var/run/postgresql"

The database is emptied first (its public schema is dropped): name a database used for nothing else.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"

sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from consent_service.ids import uuid7  # noqa: E402

EVENT_COLUMNS = (
    "id, uuid, org_id, subject_id, seq, purpose_id, purpose_version, policy_version_id, policy_seq, "
    "action, consent_type, actor_kind, actor_name, actor_relationship, actor_reason, method, evidence, "
    "is_subject_initiated, bundle_id, bundle_size, idempotency_key, occurred_at, recorded_at, expires_at, "
    "prev_hash, hash"
)
STATE_COLUMNS = (
    "subject_id, purpose_id, org_id, status, event_id, event_uuid, purpose_version, policy_seq, "
    "consent_type, is_guardian_act, occurred_at, expires_at, refused_at"
)
FOREIGN_KEYS = (
    ("consent_event", "org_id", "organization"),
    ("consent_event", "subject_id", "subject"),
    ("consent_event", "purpose_id", "purpose"),
    ("consent_event", "policy_version_id", "policy_version"),
    ("consent_state", "subject_id", "subject"),
    ("consent_state", "purpose_id", "purpose"),
    ("consent_state", "org_id", "organization"),
    ("consent_state", "event_id", "consent_event"),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def migrate(database_url: str) -> None:
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONSENT_SECRET_KEY": "floor",
        "FLASK_APP": "consent_service",
    }
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], check=True, env=env, cwd=ROOT, capture_output=True)


def seed(conn: psycopg.Connection, people: int, purposes: int) -> tuple[int, list[int]]:
    """An organization, purposes and people, with no events."""
    org = conn.execute(
        "INSERT INTO organization (slug, name_zh, name_en, default_regime, timezone, created_at) "
        "VALUES ('floor', '底线', 'Floor', 'PIPL', 'Asia/Shanghai', now()) RETURNING id"
    ).fetchone()[0]
    purpose_ids = [
        conn.execute(
            "INSERT INTO purpose (org_id, code, current_version, material_version, reconsent_policy_seq, "
            "created_at) VALUES (%s, %s, 1, 1, 0, now()) RETURNING id",
            (org, f"purpose{k}"),
        ).fetchone()[0]
        for k in range(purposes)
    ]
    with conn.cursor().copy(
        "COPY subject (org_id, external_id, is_under_14, chain_seq, created_at, updated_at) FROM STDIN"
    ) as copy:
        copy.write(
            "".join(
                f"{org}\tp{n}\tf\t0\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\n" for n in range(people)
            )
        )
    conn.commit()
    return org, purpose_ids


def build(conn: psycopg.Connection, org: int, purpose_ids: list[int]) -> tuple[str, str, str]:
    """The COPY text of every event, state row and chain head (one grant per person and purpose)."""
    subjects = conn.execute("SELECT id FROM subject WHERE org_id = %s ORDER BY id", (org,)).fetchall()
    events, states, heads = io.StringIO(), io.StringIO(), io.StringIO()
    event_id = 0
    when = "2026-01-01 00:00:00+00"
    for (subject_id,) in subjects:
        prev = "\\N"
        for seq, purpose_id in enumerate(purpose_ids, start=1):
            event_id += 1
            uid = uuid7()  # time-ordered, as the ledger's event ids are
            digest = hashlib.sha256(f"{subject_id}.{seq}".encode()).hexdigest()
            events.write(
                f"{event_id}\t{uid}\t{org}\t{subject_id}\t{seq}\t{purpose_id}\t1\t\\N\t0\tgrant\texplicit\t"
                f"subject\t\\N\t\\N\t\\N\timport\t{{}}\tf\t{uid}\t1\t\\N\t{when}\t{when}\t\\N\t{prev}\t{digest}\n"
            )
            states.write(
                f"{subject_id}\t{purpose_id}\t{org}\tgranted\t{event_id}\t{uid}\t1\t0\texplicit\tf\t{when}\t\\N\t\\N\n"
            )
            prev = digest
        heads.write(f"{len(purpose_ids)}\t{prev}\t{subject_id}\n")
    return events.getvalue(), states.getvalue(), heads.getvalue()


MODES = {
    "as migrated": "the schema as migrated (keys, indexes, foreign keys)",
    "no foreign keys": "without foreign keys (indexes kept; keys validated once at the end)",
    "bare": "bare tables: no key, index or constraint",
}


def ingest(conn: psycopg.Connection, events: str, states: str, heads: str, *, mode: str) -> dict[str, float]:
    """Time each statement of one import-shaped transaction, then roll it back."""
    spent: dict[str, float] = {}
    event_table, state_table = "consent_event", "consent_state"
    if mode == "bare":
        conn.execute("CREATE TEMP TABLE bare_event (LIKE consent_event) ON COMMIT DROP")
        conn.execute("CREATE TEMP TABLE bare_state (LIKE consent_state) ON COMMIT DROP")
        event_table, state_table = "bare_event", "bare_state"
    if mode == "no foreign keys":
        for table, column, _ in FOREIGN_KEYS:
            name = conn.execute(
                "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass "
                "AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attname = %s)]::smallint[]",
                (table, table, column),
            ).fetchone()[0]
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')

    def timed(label: str, run) -> None:
        started = time.perf_counter()
        run()
        spent[label] = time.perf_counter() - started

    def copy(sql: str, data: str) -> None:
        with conn.cursor().copy(sql) as writer:
            writer.write(data)

    timed("events", lambda: copy(f"COPY {event_table} ({EVENT_COLUMNS}) FROM STDIN", events))
    timed("states", lambda: copy(f"COPY {state_table} ({STATE_COLUMNS}) FROM STDIN", states))

    def move_heads() -> None:
        conn.execute(
            "CREATE TEMP TABLE import_head (chain_seq int, chain_head varchar(64), id bigint) ON COMMIT DROP"
        )
        copy("COPY import_head FROM STDIN", heads)
        conn.execute(
            "UPDATE subject SET chain_seq = h.chain_seq, chain_head = h.chain_head, updated_at = now() "
            "FROM import_head h WHERE subject.id = h.id"
        )

    timed("chain heads", move_heads)
    if mode == "no foreign keys":

        def validate() -> None:
            for table, column, target in FOREIGN_KEYS:
                conn.execute(f"ALTER TABLE {table} ADD FOREIGN KEY ({column}) REFERENCES {target} (id)")

        timed("foreign keys added back (validated once)", validate)
    conn.rollback()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--purposes", type=int, default=10)
    args = parser.parse_args()
    migrate(args.database_url)
    dsn = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        org, purpose_ids = seed(conn, args.people, args.purposes)
        events, states, heads = build(conn, org, purpose_ids)
        total = args.people * args.purposes
        print(f"{total:,} acts ({args.people:,} people x {args.purposes} purposes), database only, no Python")
        for mode, title in MODES.items():
            spent = ingest(conn, events, states, heads, mode=mode)
            seconds = sum(spent.values())
            print(f"{title}: {seconds:.1f} s = {total / seconds:,.0f} acts/s")
            for label, value in spent.items():
                print(f"  {label:42} {value:6.1f} s")


if __name__ == "__main__":
    main()
