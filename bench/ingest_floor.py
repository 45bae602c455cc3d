"""What PostgreSQL alone takes to store an import's rows: the floor under ``flask consents import``.

Builds the rows of N grants (people x purposes) in memory first, with no Python work counted,
then times only the database: ``COPY`` of the events, ``COPY`` of the new state rows, and the
chain heads moved through a temporary table, in one transaction, as the import writes them.
It runs three times on the same rows, each transaction rolled back: with the schema as
migrated; with the tables' foreign keys dropped (and added back, validated once, at the end);
and into bare copies of the tables, with no key, index or constraint at all (the floor of COPY
itself on this machine; the chain heads still go to ``subject``). The tables are vacuumed
between runs, so each starts from the same state.

    .venv/bin/python bench/ingest_floor.py \\
        --database-url "postgresql+psycopg://postgres@/floor?host=/var/run/postgresql"

The database is emptied first (its public schema is dropped): name a database used for nothing else.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_bench  # noqa: E402
import psycopg  # noqa: E402

from consent_service.consent.models import ConsentEvent, ConsentState  # noqa: E402
from consent_service.consent.rows import EVENT_COLUMNS, STATE_COLUMNS  # noqa: E402
from consent_service.ids import uuid7  # noqa: E402

#: (table, column, referenced table) of every foreign key of the two tables an import fills.
FOREIGN_KEYS = tuple(
    (table.name, key.parent.name, key.column.table.name)
    for table in (ConsentEvent.__table__, ConsentState.__table__)
    for key in sorted(table.foreign_keys, key=lambda k: k.parent.name)
)


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
    if mode == "bare":  # ordinary tables (logged, shared buffers), gone with the rollback
        conn.execute("CREATE TABLE bare_event (LIKE consent_event)")
        conn.execute("CREATE TABLE bare_state (LIKE consent_state)")
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

    timed("events", lambda: copy(f"COPY {event_table} ({', '.join(EVENT_COLUMNS)}) FROM STDIN", events))
    timed("states", lambda: copy(f"COPY {state_table} ({', '.join(STATE_COLUMNS)}) FROM STDIN", states))

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
    # The rolled-back rows are dead tuples in the tables and their indexes: clear them, so
    # that the next mode starts from the same tables.
    conn.autocommit = True
    conn.execute("VACUUM consent_event, consent_state, subject")
    conn.autocommit = False
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--purposes", type=int, default=10)
    args = parser.parse_args()
    api_bench.migrate_fresh(args.database_url, api_bench.bench_env(args.database_url))
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
