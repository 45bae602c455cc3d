"""API benchmark: seed people x purposes, serve with the production gunicorn settings, drive
with wrk, and print requests/s with p50/p99 for each scenario as a ratio to /healthz.

    .venv/bin/python bench/api_bench.py                       # SQLite in a temporary folder
    .venv/bin/python bench/api_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The PostgreSQL database is emptied first (its public schema is dropped): name a database
used for nothing else. Needs wrk (Debian package ``wrk``). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCOPES = "purposes:read purposes:write subjects:write consents:read consents:write"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_env(database_url: str, base_url: str = "http://127.0.0.1", **extra: str) -> dict[str, str]:
    """The environment of the app under test: production settings on a throw-away database."""
    return dict(
        os.environ,
        DATABASE_URL=database_url,
        FLASK_APP="consent_service",
        CONSENT_ENV="production",
        CONSENT_SECRET_KEY="bench-secret-key-not-for-production",  # noqa: S106  (a throw-away database)
        CONSENT_BASE_URL=base_url,
        **extra,
    )


def fetch_token(base: str, seeded: dict) -> str:
    """An access token for the seeded client (``client_id``, ``client_secret``)."""
    return requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(seeded["client_id"], seeded["client_secret"]),
        timeout=10,
    ).json()["access_token"]


def migrate_fresh(database_url: str, env: dict[str, str]) -> None:
    """Empty the database (PostgreSQL: drop its public schema) and migrate it."""
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], check=True, env=env, cwd=ROOT, capture_output=True)


def prepare(database_url: str, people: int, purposes: int, env: dict[str, str]) -> dict:
    """Migrate, create the organization, purposes and client, import people x purposes grants."""
    migrate_fresh(database_url, env)

    from consent_service import create_app
    from consent_service.consent.bulk import import_acts
    from consent_service.extensions import db
    from consent_service.oauth import service as oauth
    from consent_service.organizations import service as organizations
    from consent_service.policies import purposes as purpose_service

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": env["CONSENT_SECRET_KEY"]})
    now = datetime.now(UTC)
    with app.app_context():
        organizations.load_catalogue()
        org = organizations.create_organization("bench", now, name_en="Bench Ltd", name_zh="压测公司")
        for k in range(purposes):
            purpose_service.create_purpose(
                org,
                {
                    "code": f"purpose{k}",
                    "name_zh": f"目的{k}",
                    "name_en": f"Purpose {k}",
                    "description_zh": "描述",
                    "description_en": "description",
                    "function_kind": "extended",
                    "legal_basis": "consent",
                    "consent_requirement": "explicit",
                    "pi_categories": ["basic"],
                },
                now,
            )
        issued = oauth.create_client(org, "bench", SCOPES, now)
        db.session.commit()
        rows = (
            (
                n,
                {
                    "subject": f"p{n // purposes}",
                    "purpose": f"purpose{n % purposes}",
                    "action": "grant",
                    "consent_type": "explicit",
                    "occurred_at": "2026-01-01T00:00:00+08:00",
                },
            )
            for n in range(people * purposes)
        )
        started = time.perf_counter()
        report = import_acts(org, rows, now, chunk_size=20000)
        db.session.commit()
        seconds = time.perf_counter() - started
        log(f"imported {report.events:,} acts in {seconds:.1f} s: {report.events / seconds:,.0f} acts/s")
        result = {
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
            "import_acts": report.events,
            "import_seconds": seconds,
        }
        db.engine.dispose()
    return result


def seed_once(workdir: Path, database_url: str, people: int, purposes: int, env: dict[str, str]) -> dict:
    """:func:`prepare` the database, or reuse what an earlier run in ``workdir`` seeded."""
    database = hashlib.sha256(database_url.encode()).hexdigest()[:12]  # another database seeds anew
    saved = workdir / f"seeded-{database_url.split(':')[0]}-{database}-{people}x{purposes}.json"
    if saved.exists():
        log(f"reusing the database seeded earlier ({saved})")
        return json.loads(saved.read_text())
    seeded = prepare(database_url, people, purposes, env)
    saved.write_text(json.dumps(seeded))
    return seeded


def random_pairs(rnd: random.Random, people: int, purposes: int, n: int) -> list[dict[str, str]]:
    """``n`` random (subject, purpose) pairs of the seeded data."""
    return [
        {"subject": f"p{rnd.randrange(people)}", "purpose": f"purpose{rnd.randrange(purposes)}"}
        for _ in range(n)
    ]


def grants_body(rnd: random.Random, people: int, purposes: int, n: int) -> dict:
    """A batch of ``n`` explicit grants the people start themselves (so no 48-hour rule)."""
    items = [
        pair | {"action": "grant", "consent_type": "explicit", "is_subject_initiated": True}
        for pair in random_pairs(rnd, people, purposes, n)
    ]
    return {"items": items}


def wait_ready(base: str, process: subprocess.Popen) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def wrk(
    base: str, args, path: str, token: str | None = None, method: str = "GET", bodies: list[str] | None = None
):
    env = dict(
        os.environ,
        BENCH_PATH=path,
        BENCH_METHOD=method,
        BENCH_PEOPLE=str(args.people),
        BENCH_PURPOSES=str(args.purposes),
    )
    if token:
        env["BENCH_TOKEN"] = token
    if bodies:
        body_file = Path(tempfile.mkstemp(suffix=".jsonl")[1])
        body_file.write_text("\n".join(bodies) + "\n")
        env["BENCH_BODY_FILE"] = str(body_file)

    def command(seconds: int) -> list[str]:
        script = str(ROOT / "bench" / "wrk_report.lua")
        return [
            "wrk",
            "-t",
            str(args.threads),
            "-c",
            str(args.connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            script,
            base,
        ]

    subprocess.run(command(2), check=True, env=env, capture_output=True)  # warm workers, caches, pools
    out = subprocess.run(command(args.duration), check=True, env=env, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--purposes", type=int, default=10)
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workdir", help="keep the seeded database here and reuse it on the next run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure the ceiling and the single decision this many times, back to back, and "
        "report each ratio (on a shared machine one round is noise)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="consent-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    base = f"http://127.0.0.1:{args.port}"
    env = bench_env(
        database_url, base, CONSENT_BIND=f"127.0.0.1:{args.port}", CONSENT_API_RATE_LIMIT="1000000 per minute"
    )
    seeded = seed_once(workdir, database_url, args.people, args.purposes, env)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env
    )
    try:
        wait_ready(base, server)
        token = fetch_token(base, seeded)
        rnd = random.Random(7)

        def pairs(n: int) -> str:
            return json.dumps({"items": random_pairs(rnd, args.people, args.purposes, n)})

        def acts(n: int) -> str:
            return json.dumps(grants_body(rnd, args.people, args.purposes, n))

        results = {}
        decision_path = "/api/v1/subjects/{subject}/decisions/{purpose}"
        rounds = []
        for _ in range(args.rounds):
            ceiling_round = wrk(base, args, "/healthz")
            rounds.append((ceiling_round, wrk(base, args, decision_path, token)))
        first_ceiling, results["decision"] = sorted(rounds, key=lambda r: r[1]["rps"] / r[0]["rps"])[
            len(rounds) // 2
        ]
        results["batch100"] = wrk(
            base, args, "/api/v1/decisions", token, "POST", [pairs(100) for _ in range(50)]
        )
        results["acts_batch100"] = wrk(
            base, args, "/api/v1/consents/batch", token, "POST", [acts(100) for _ in range(400)]
        )
        results["acts_batch1000"] = wrk(
            base, args, "/api/v1/consents/batch", token, "POST", [acts(1000) for _ in range(60)]
        )
        # The ceiling, measured before and after the others: the better of the two.
        results["healthz"] = max(first_ceiling, wrk(base, args, "/healthz"), key=lambda r: r["rps"])
        session = requests.Session()
        timings = []
        for _ in range(20):
            body = pairs(1000)
            started = time.perf_counter()
            response = session.post(
                f"{base}/api/v1/decisions",
                data=body,
                timeout=30,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    finally:
        server.terminate()
        server.wait(timeout=30)

    ceiling = results["healthz"]["rps"]
    print(
        f"\ndatabase: {database_url.split(':')[0]}   people x purposes: {args.people:,} x {args.purposes}   "
        f"wrk: {args.threads} threads, {args.connections} connections, {args.duration} s per scenario"
    )
    print(f"{'scenario':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x ceiling':>11}{'errors':>8}")
    names = {
        "healthz": "/healthz (ceiling)",
        "decision": "single decision (authenticated)",
        "batch100": "batch decision, 100 pairs",
        "acts_batch100": "consent acts, batch of 100",
        "acts_batch1000": "consent acts, batch of 1,000",
    }
    for key, name in names.items():
        r = results[key]
        # The single decision is compared with the ceiling measured just before it.
        base_rps = first_ceiling["rps"] if key == "decision" else ceiling
        print(
            f"{name:<34}{r['rps']:>10,.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['rps'] / base_rps:>11.2f}"
            f"{r['errors']:>8}"
        )
    print(
        "single decision x ceiling, round by round (the median is above): "
        + ", ".join(f"{d['rps'] / c['rps']:.2f} (p99 {d['p99_ms']:.0f} ms)" for c, d in rounds)
    )
    print(
        f"consent acts through the batch endpoint: {results['acts_batch100']['rps'] * 100:,.0f} acts/s "
        f"(batches of 100), {results['acts_batch1000']['rps'] * 1000:,.0f} acts/s (batches of 1,000)"
    )
    print(
        f"1,000-pair batch decision: median {statistics.median(timings):.1f} ms, best {min(timings):.1f} ms "
        "(round trip on loopback)"
    )
    print(
        f"import (flask consents import path): {seeded['import_acts'] / seeded['import_seconds']:,.0f} acts/s"
    )


if __name__ == "__main__":
    main()
