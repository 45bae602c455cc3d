"""How long ``flask audit verify`` takes, and how much memory it holds, on a seeded ledger.

Seeds one organization through the online write path (``record_acts``, so every grant has a
signed receipt): people grant three purposes in one act, withdraw one, then grant it again
(five events per person, four of them grants), writes a checkpoint, then times the
verification of the organization.

    .venv/bin/python bench/verify_bench.py --database-url sqlite:////tmp/verify-bench.sqlite3
    .venv/bin/python bench/verify_bench.py --people 4000 \\
        --database-url "postgresql+psycopg://postgres@127.0.0.1:5432/verify_bench"

The database is emptied first (PostgreSQL: its public schema is dropped): name one used for
nothing else. ``--reuse`` skips the seeding and times a database seeded earlier.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from consent_service import create_app  # noqa: E402
from consent_service.extensions import db  # noqa: E402

SECRET = "bench-secret-key-not-for-production"  # noqa: S105  (a throw-away database)
PURPOSES = ("marketing", "analytics", "research")


def log(message: str) -> None:
    """Progress on standard error."""
    print(message, file=sys.stderr, flush=True)


def empty(database_url: str) -> None:
    """Drop everything in the database (PostgreSQL) or the file (SQLite)."""
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    elif database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def seed(people: int, batch: int) -> None:
    """The organization, its purposes, five events per person and a checkpoint."""
    from consent_service.audit.checkpoints import create_checkpoint
    from consent_service.consent.service import ActRequest, record_acts
    from consent_service.organizations import service as organizations
    from consent_service.policies import purposes

    now = datetime.now(UTC)
    organizations.load_catalogue()
    org = organizations.create_organization("bench", now, name_en="Bench Ltd", name_zh="压测公司")
    for code in PURPOSES:
        purposes.create_purpose(
            org,
            {
                "code": code,
                "name_zh": f"{code} 中文",
                "name_en": code,
                "description_zh": "描述",
                "description_en": "description",
                "processing_method_zh": "方式",
                "processing_method_en": "method",
                "function_kind": "extended",
                "legal_basis": "consent",
                "consent_requirement": "explicit",
                "pi_categories": ["basic"],
                "retention_days": 365,
            },
            now,
        )
    db.session.commit()
    rounds = (
        ("grant", list(PURPOSES)),
        ("withdraw", [PURPOSES[0]]),
        ("grant", [PURPOSES[0]]),
    )
    started = time.perf_counter()
    for action, codes in rounds:
        for first in range(0, people, batch):
            requests = [
                ActRequest(
                    subject=f"p{n}",
                    purposes=codes,
                    action=action,
                    consent_type="explicit" if action == "grant" else None,
                    is_subject_initiated=True,
                )
                for n in range(first, min(first + batch, people))
            ]
            if action == "grant" and codes == list(PURPOSES):
                from consent_service.consent.subjects import upsert_subject

                for request in requests:
                    upsert_subject(org, request.subject, now)
            record_acts(org, requests, datetime.now(UTC))
            db.session.commit()
    create_checkpoint(org, datetime.now(UTC))
    db.session.commit()
    log(f"seeded {people:,} people in {time.perf_counter() - started:.1f} s")


def measure(runs: int) -> None:
    """Time ``verify_organization`` (best of ``runs``) and its peak Python memory (one more run)."""
    from consent_service.audit.verify import verify_organization
    from consent_service.consent.models import ConsentEvent
    from consent_service.organizations.service import get_organization
    from consent_service.receipts.models import ConsentReceipt

    org = get_organization("bench")
    events = db.session.scalar(select(func.count()).select_from(ConsentEvent))
    receipts = db.session.scalar(select(func.count()).select_from(ConsentReceipt))
    verify_organization(org)  # the first run proves the keys (a slow key derivation, once per process)
    db.session.rollback()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        report = verify_organization(org)
        times.append(time.perf_counter() - started)
        db.session.rollback()
    tracemalloc.start()
    verify_organization(org)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.rollback()
    best = min(times)
    print(
        f"{events:,} events, {receipts:,} receipts: verify best {best:.2f} s of {runs} "
        f"({events / best:,.0f} events/s), peak Python memory {peak / 2**20:.1f} MiB, "
        f"ok={report.ok} problems={report.problems[:3]}"
    )


def main() -> None:
    """Seed (unless ``--reuse``) and measure."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--people", type=int, default=4_000, help="five events each")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if not args.reuse:
        empty(args.database_url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": SECRET, "ENV": "testing"})
    with app.app_context():
        if not args.reuse:
            upgrade(directory=str(ROOT / "migrations"))
            seed(args.people, args.batch)
        measure(args.runs)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
