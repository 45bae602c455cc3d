"""Where the time of a batch of consent acts goes, in one process (no HTTP server, no wrk).

Seeds people x purposes like ``api_bench.py`` (reusing a database seeded earlier in the same
work folder), posts batches of grants through the Flask test client, and prints acts/s and the
time of each part of the write path per batch.

    .venv/bin/python bench/acts_breakdown.py --workdir /tmp/acts-sqlite
    .venv/bin/python bench/acts_breakdown.py --workdir /tmp/acts-pg --batch 1000 \\
        --database-url "postgresql+psycopg://postgres@/acts?host=/var/run/postgresql"

The PostgreSQL database is emptied first when it is seeded: name a database used for nothing else.
"""

from __future__ import annotations

import argparse
import base64
import collections
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_bench  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from consent_service.api import registry  # noqa: E402
from consent_service.consent import api, rows, service, writer  # noqa: E402
from consent_service.receipts import keys  # noqa: E402
from consent_service.receipts import service as receipts  # noqa: E402

#: (owner, function name, label): the parts timed, outermost first.
PARTS = (
    (registry, "_parse_body", "parse the body"),
    (api, "_load_items", "load the items (marshmallow)"),
    (service, "record_acts", "record_acts (all below)"),
    (service._Batch, "__init__", "  purposes, lock, states, keys, ids"),
    (service._Batch, "plan", "  plan every act (below)"),
    (writer.ChainWriter, "append", "    append: hash, state"),
    (service, "_check_grant", "    rules of a grant"),
    (writer.ChainWriter, "receipt", "    receipt (below)"),
    (keys, "_compact_es256", "      ES256 signature"),
    (writer.ChainWriter, "write", "  write (below)"),
    (rows.Writer, "insert_events", "    events"),
    (rows.Writer, "upsert_states", "    states, upserted"),
    (rows.Writer, "insert_states", "    states, inserted"),
    (rows.Writer, "update_heads", "    chain heads"),
    (receipts, "store_receipts", "    receipts"),
    (api, "_act_body", "build the answers"),
    (Session, "commit", "commit"),
    (registry, "_respond", "serialize the answer"),
)


def _timed(spent: collections.Counter, owner, name: str, label: str) -> None:
    function = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--purposes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = args.database_url or f"sqlite:///{workdir}/acts.sqlite3"
    env = api_bench.bench_env(database_url)
    seeded = api_bench.seed_once(workdir, database_url, args.people, args.purposes, env)

    from consent_service import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": env["CONSENT_SECRET_KEY"],
            "BASE_URL": env["CONSENT_BASE_URL"],
            "API_RATE_LIMIT": "1000000 per minute",
        }
    )
    client = app.test_client()
    basic = base64.b64encode(f"{seeded['client_id']}:{seeded['client_secret']}".encode()).decode()
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    ).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    rnd = random.Random(11)

    def body() -> dict:
        return api_bench.grants_body(rnd, args.people, args.purposes, args.batch)

    for _ in range(3):  # warm caches and pools
        response = client.post("/api/v1/consents/batch", json=body(), headers=headers)
        assert response.status_code == 201, response.json
    bodies = [body() for _ in range(args.batches)]
    spent: collections.Counter = collections.Counter()
    for owner, name, label in PARTS:
        _timed(spent, owner, name, label)
    started = time.perf_counter()
    for item in bodies:
        response = client.post("/api/v1/consents/batch", json=item, headers=headers)
        assert response.status_code == 201, response.json
    seconds = time.perf_counter() - started

    acts = args.batch * args.batches
    print(f"\ndatabase: {database_url.split(':')[0]}   batches of {args.batch}, {args.batches} batches")
    print(f"{acts / seconds:,.0f} acts/s in one process, {seconds / args.batches * 1000:.1f} ms per batch\n")
    print(f"{'part (the rest is Flask and the test client)':<48}{'ms per batch':>14}{'share':>8}")
    per_batch = seconds / args.batches
    for _, _, label in PARTS:
        value = spent[label] / args.batches
        print(f"{label:<48}{value * 1000:>14.1f}{value / per_batch:>8.0%}")


if __name__ == "__main__":
    main()
