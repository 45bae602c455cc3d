"""Export benchmark: consent events written as CSV from a server-side cursor, 100k and 1M rows.

Seeds two organizations with exactly 100,000 and 1,000,000 consent events (plain rows: COPY on
PostgreSQL, executemany on SQLite, as the ledger writes them; a receipt for one event in four,
so the export's outer join finds some), then measures, each in a child process of its own so
that its peak RSS is its own: the floor (the export's statement, its rows handed over by the
database and dropped: through the driver's cursor on SQLite, by ``COPY`` on PostgreSQL) and the
export (CSV, hashed and written to a file, as the ``exports`` job does). Prints rows/s and the
peak RSS (``ru_maxrss``) of each.

    .venv/bin/python bench/export_bench.py                    # SQLite in a temporary folder
    .venv/bin/python bench/export_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The PostgreSQL database is emptied first (its public schema is dropped): name a database used
for nothing else. Figures go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_bench import bench_env, log, migrate_fresh  # noqa: E402

SIZES = (100_000, 1_000_000)
#: The acts happen over the 30 days before this moment; the export asks for all of them.
END = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
EVENTS_PER_PERSON = 10
#: Rows written per insert statement while seeding.
SEED_CHUNK = 50_000
PURPOSE = {
    "code": "marketing", "name_zh": "营销", "name_en": "Marketing", "description_zh": "营销",
    "description_en": "Marketing", "processing_method_zh": "方式", "processing_method_en": "method",
    "function_kind": "extended", "legal_basis": "consent", "consent_requirement": "explicit",
    "pi_categories": ["basic"], "retention_days": 365,
}  # fmt: skip
EVENT_COLUMNS = (
    "id", "uuid", "org_id", "subject_id", "seq", "purpose_id", "purpose_version", "policy_version_id",
    "policy_seq", "action", "consent_type", "actor_kind", "method", "evidence", "is_subject_initiated",
    "bundle_id", "bundle_size", "occurred_at", "recorded_at", "prev_hash", "hash",
)  # fmt: skip
RECEIPT_COLUMNS = ("id", "receipt_id", "event_id", "org_id", "kid", "jws", "jws_sha256", "issued_at")


def bench_app(database_url: str):
    """The application in this process, on the bench database."""
    from consent_service import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-secret-key-not-for-production",
         "WEBHOOK_DISPATCH": "off", "MAIL_TRANSPORT": "memory"}
    )  # fmt: skip


def seed(database_url: str) -> dict[str, int]:
    """One organization per size, each with its people, one purpose, a published policy and
    exactly ``size`` events; return each organization's id by size."""
    from sqlalchemy import insert, select, text

    from consent_service.consent.models import Subject
    from consent_service.database import insert_rows, stored_time
    from consent_service.extensions import db
    from consent_service.ids import uuid7
    from consent_service.organizations import service as organizations
    from consent_service.policies import purposes as purpose_service

    app = bench_app(database_url)
    made: dict[str, int] = {}
    with app.app_context():
        dialect = db.engine.dialect.name
        created = END - timedelta(days=60)
        organizations.load_catalogue()
        next_id = 1
        for size in SIZES:
            started = time.perf_counter()
            org = organizations.create_organization(
                f"bench-{size}", created, name_en="Bench", name_zh="压测", contact_email="p@bench.example",
                pipo_name="Officer", pipo_contact="pipo@bench.example",
            )  # fmt: skip
            purpose = purpose_service.create_purpose(org, PURPOSE, created)
            people = size // EVENTS_PER_PERSON
            db.session.execute(
                insert(Subject),
                [{"org_id": org.id, "external_id": f"p{n}", "email": f"p{n}@example.cn",
                  "is_under_14": False, "chain_seq": EVENTS_PER_PERSON, "created_at": created,
                  "updated_at": created} for n in range(people)],
            )  # fmt: skip
            subject_ids = list(db.session.scalars(select(Subject.id).where(Subject.org_id == org.id)))
            step = timedelta(days=30) / size
            evidence = json.dumps({"ip": "203.0.113.9", "user_agent": "Bench/1.0"})
            for first in range(0, size, SEED_CHUNK):
                events, receipts = [], []
                for n in range(first, min(first + SEED_CHUNK, size)):
                    at = stored_time(dialect, END - timedelta(days=30) + step * n)
                    action = "grant" if n % 3 else "withdraw"
                    events.append((
                        next_id, uuid7(), org.id, subject_ids[n % people], n // people + 1, purpose.id, 1,
                        None, 0, action, "explicit" if action == "grant" else None, "subject", "api",
                        evidence, False, uuid7(), 1, at, at, f"{n - 1:064x}" if n else None, f"{n:064x}",
                    ))  # fmt: skip
                    if n % 4 == 0:
                        receipts.append((next_id, uuid7(), next_id, org.id, "bench-kid", None, None, at))
                    next_id += 1
                insert_rows(db.session, "consent_event", EVENT_COLUMNS, events)
                insert_rows(db.session, "consent_receipt", RECEIPT_COLUMNS, receipts)
            db.session.commit()
            made[str(size)] = org.id
            log(f"seeded {size} events in {time.perf_counter() - started:.1f} s")
        if dialect == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.engine.dispose()
    return made


def measure(database_url: str, org_id: int, mode: str, folder: str) -> dict:
    """In this (child) process: the organization's events read as the export reads them and
    dropped (``floor``: the driver's cursor on SQLite, the statement's ``COPY`` on PostgreSQL),
    or written as the CSV file (``csv``: as the ``exports`` job writes it); rows, seconds, peak
    RSS."""
    from sqlalchemy import event

    from consent_service.exports.rows import CONSENT_EVENTS, driver_statement, stream_batches
    from consent_service.exports.writers import Tally, export_bytes
    from consent_service.extensions import db

    app = bench_app(database_url)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # The service maps the database file (PRAGMA mmap_size); its pages would count in
            # this process's RSS, which is to show the export's own memory.
            event.listen(db.engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA mmap_size=0"))
        starts_at, ends_at = END - timedelta(days=31), END
        with db.engine.connect() as connection, connection.begin():
            started = time.perf_counter()
            rows = size = 0
            if mode == "floor" and connection.dialect.name == "postgresql":
                statement = CONSENT_EVENTS.statement(org_id, starts_at, ends_at)
                sql, params = driver_statement(connection, statement)
                cursor = connection.connection.driver_connection.cursor()
                with cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                    for _data in copy:
                        rows += 1
            elif mode == "floor":
                for batch in stream_batches(connection, CONSENT_EVENTS, org_id, starts_at, ends_at):
                    rows += len(batch)
            else:
                digest, tally = hashlib.sha256(), Tally()
                with open(Path(folder) / "export.csv", "wb") as out:
                    for data in export_bytes(
                        connection, CONSENT_EVENTS, "csv", org_id, starts_at, ends_at, tally
                    ):
                        digest.update(data)
                        out.write(data)
                        size += len(data)
                rows = tally.rows
            seconds = time.perf_counter() - started
        db.engine.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"mode": mode, "rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
            "bytes": size, "peak_rss_mib": round(peak_kib / 1024, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--measure", nargs=3, metavar=("ORG_ID", "MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        org_id, mode, folder = args.measure
        print(json.dumps(measure(args.database_url, int(org_id), mode, folder)))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        migrate_fresh(url, bench_env(url))
        orgs = seed(url)
        results = []
        for size in SIZES:
            for mode in ("floor", "csv"):
                command = [sys.executable, __file__, "--database-url", url,
                           "--measure", str(orgs[str(size)]), mode, folder]  # fmt: skip
                child = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
                result = json.loads(child.stdout.strip().splitlines()[-1]) | {"size": size}
                log(json.dumps(result))
                results.append(result)
        print(json.dumps({"database": url.split(":", 1)[0], "results": results}, indent=1))


if __name__ == "__main__":
    main()
