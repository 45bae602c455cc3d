"""Rights-request benchmark: the deadline sweep over many open requests, and creating requests
through the API.

1. The sweep: seed open rights requests in bulk (core inserts, not the service one by one,
   but the rows the service would write: open statuses, due dates from the rules and the
   holiday calendar, the notices ``schedule()`` plans, those already due marked sent), then
   time one ``sweep_deadlines`` at 09:03 Shanghai on a working day (the moment the day's
   reminders fall due), the runs after it until nothing is left, a run with nothing due, and
   the floor: the sweep's claim query alone. The query plans are logged.
2. The API: serve with the production gunicorn settings on a fresh database, create people,
   drive ``POST /api/v1/rights-requests`` with wrk (a body per person, in random order) and
   measure ``/healthz`` in the same run.

    .venv/bin/python bench/rights_bench.py                    # SQLite in a temporary folder
    .venv/bin/python bench/rights_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The PostgreSQL database is emptied first (its public schema is dropped), and again between
the two parts (on SQLite each part has a file of its own): name a database used for nothing
else. Needs wrk (Debian package ``wrk``).
Traffic goes to 127.0.0.1 only. Figures go to stdout, progress and query plans to stderr.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import api_bench  # noqa: E402
import requests  # noqa: E402
from api_bench import BIN, bench_env, log, migrate_fresh, wait_ready  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

#: The sweep runs at 09:03 in Shanghai on Wednesday 2026-12-02: the day's reminders (09:00
#: local) have just fallen due; the run before it, five minutes earlier, sent everything older.
SWEEP_AT = datetime(2026, 12, 2, 1, 3, tzinfo=UTC)
LAST_RUN = SWEEP_AT - timedelta(minutes=5)
#: The open statuses and how common each is; the first two have no verified requester yet.
STATUSES = {
    "in_progress": 0.60,
    "awaiting_systems": 0.15,
    "awaiting_requester": 0.10,
    "verifying_identity": 0.10,
    "received": 0.05,
}
TYPES = {
    "access": 0.30,
    "deletion": 0.25,
    "correction": 0.10,
    "copy": 0.10,
    "cancellation": 0.10,
    "withdrawal": 0.05,
    "portability": 0.04,
    "explanation": 0.03,
    "complaint": 0.03,
}
OFFICERS = ["li.officer@shop.example", "wang.officer@shop.example", "zhao.officer@shop.example", None]
RESOLVER_ADDRESS = "93.184.215.14"  # what the bench's fake resolver answers; nothing connects


def pick(rnd: random.Random, weights: dict[str, float]) -> str:
    """A key of ``weights``, drawn with those weights."""
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def bench_app(database_url: str, secret: str):
    """The application in this process, on the bench database, with the sweep's clock."""
    from consent_service import create_app
    from consent_service.clock import FixedClock
    from consent_service.webhooks.addresses import StaticResolver

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": secret,
            "CLOCK": FixedClock(SWEEP_AT),
            "WEBHOOK_DISPATCH": "off",
            "MAIL_TRANSPORT": "memory",
            "WEBHOOK_RESOLVER": StaticResolver(default=[RESOLVER_ADDRESS]),
        }
    )


def seed_requests(count: int, orgs: int, seed: int = 11) -> dict[str, int]:
    """Write ``count`` open requests of ``orgs`` organizations, their people, their first
    events, pauses, and notices, in bulk; return how many rows of each."""
    from consent_service.consent.models import Subject
    from consent_service.extensions import db
    from consent_service.ids import uuid7
    from consent_service.organizations import service as organizations
    from consent_service.rights.calendar_data import current_calendar
    from consent_service.rights.deadlines import compute_due, reminder_times, rule_for
    from consent_service.rights.models import RightsNotice, RightsPause, RightsRequest, RightsRequestEvent
    from consent_service.webhooks import service as webhooks

    rnd = random.Random(seed)
    created = LAST_RUN - timedelta(days=60)
    organizations.load_catalogue()
    made = [
        organizations.create_organization(
            f"bench-{k}",
            created,
            name_en=f"Bench {k} Ltd",
            name_zh=f"压测公司{k}",
            contact_email=f"privacy@bench{k}.example",
            pipo_name="Officer",
            pipo_contact=f"pipo@bench{k}.example",
        )
        for k in range(orgs)
    ]
    for org in made:
        webhooks.create_endpoint(org, f"https://hooks.bench{org.id}.example/rights", ["*"], created)
    db.session.commit()
    people = int(count * 0.8)
    subject_rows = [
        {
            "org_id": made[n % orgs].id,
            "external_id": f"p{n}",
            "email": f"p{n}@example.cn",
            "is_under_14": False,
            "chain_seq": 0,
            "created_at": created,
            "updated_at": created,
        }
        for n in range(people)
    ]
    db.session.execute(insert(Subject), subject_rows)
    subject_ids: dict[int, list[int]] = {org.id: [] for org in made}
    for subject_id, org_id in db.session.execute(select(Subject.id, Subject.org_id)):
        subject_ids[org_id].append(subject_id)

    calendar = current_calendar()
    offsets = (5, 2, 1)
    plans: dict[tuple, tuple] = {}
    request_rows, pending = [], []  # pending: (public_id, start, pause) for the notices
    for n in range(count):
        org = made[n % orgs]
        request_type = pick(rnd, TYPES)
        regime = "GDPR" if rnd.random() < 0.1 else "PIPL"
        rule = rule_for(regime, request_type)
        status = pick(rnd, STATUSES)
        # Received within the request's period (a little past it for some: a few are late).
        span = timedelta(days=33 if rule.unit != "working_days" else 23)
        received = LAST_RUN - span * rnd.random()
        received = received.replace(microsecond=0)
        verified = None
        if status not in ("received", "verifying_identity"):
            verified = min(received + timedelta(minutes=rnd.choice((1, 1, 1, 30, 600, 1800))), LAST_RUN)
        start = received if rule.starts_at == "receipt" else verified
        pause = None
        if status == "awaiting_requester" and start is not None:
            pause = start + (LAST_RUN - start) * rnd.random()
        due = None
        if start is not None:
            hour = start.replace(minute=0, second=0)
            key = (regime, request_type, org.timezone, hour, pause and pause.date())
            if key not in plans:
                pauses = [(pause, LAST_RUN)] if pause else []
                at = compute_due(rule, start, org.timezone, calendar, pauses)
                planned = {f"reminder:{d}": t for d, t in reminder_times(
                    at, offsets, timezone=org.timezone, calendar=calendar)}  # fmt: skip
                planned["overdue"] = at.at
                plans[key] = (at, planned)
            due = plans[key]
        public_id = "rr_" + uuid7().replace("-", "")[:24]
        sent = {k: t for k, t in (due[1].items() if due else ()) if t <= LAST_RUN}
        request_rows.append(
            {
                "public_id": public_id,
                "org_id": org.id,
                "subject_id": rnd.choice(subject_ids[org.id]),
                "type": request_type,
                "regime": regime,
                "status": status,
                "channel": "api",
                "requester_kind": "subject",
                "client_id": "cs_bench",
                "language": "zh-CN",
                "received_at": received,
                "identity_verified_at": verified,
                "identity_verified_by": "company" if verified else None,
                "clock_started_at": start,
                "due_at": due[0].at if due else None,
                "due_day": due[0].last_day if due else None,
                "provisional": due[0].provisional if due else False,
                "paused_days": len(due[0].paused) if due else 0,
                "assigned_to": rnd.choice(OFFICERS) if verified else None,
                "at_risk": any(k != "overdue" for k in sent),
                "overdue": "overdue" in sent,
                "event_count": 1,
                "created_at": received,
                "updated_at": verified or received,
            }
        )
        if due:
            pending.append((public_id, due[1], sent, pause))
    db.session.execute(insert(RightsRequest), request_rows)
    ids = dict(db.session.execute(select(RightsRequest.public_id, RightsRequest.id)).all())
    event_rows = [
        {
            "request_id": ids[r["public_id"]],
            "seq": 1,
            "at": r["received_at"],
            "action": "receive",
            "from_status": None,
            "to_status": "received",
            "actor_kind": "client",
            "actor": "cs_bench",
        }
        for r in request_rows
    ]
    db.session.execute(insert(RightsRequestEvent), event_rows)
    notice_rows, pause_rows = [], []
    for public_id, planned, sent, pause in pending:
        latest = max(sent, key=sent.get) if sent else None  # earlier ones may have been passed
        for kind, at in planned.items():
            row = {"request_id": ids[public_id], "kind": kind, "due_at": at, "sent_at": None, "outcome": None}
            if kind in sent:
                row["sent_at"] = at + timedelta(minutes=2)
                row["outcome"] = "sent" if kind == latest or rnd.random() < 0.9 else "passed"
            notice_rows.append(row)
        if pause:
            pause_rows.append(
                {
                    "request_id": ids[public_id],
                    "paused_at": pause,
                    "resumed_at": None,
                    "reason": "which account?",
                }
            )
    db.session.execute(insert(RightsNotice), notice_rows)
    if pause_rows:
        db.session.execute(insert(RightsPause), pause_rows)
    db.session.commit()
    return {
        "requests": len(request_rows),
        "subjects": people,
        "notices": len(notice_rows),
        "pauses": len(pause_rows),
    }


def claim_query(now: datetime, limit: int = 5000):
    """The sweep's claim, as :func:`consent_service.rights.sweeps.send_due_notices` builds it."""
    from consent_service.extensions import db
    from consent_service.rights.models import RightsNotice, RightsRequest
    from consent_service.rights.sweeps import _RUNNING

    query = (
        select(RightsNotice, RightsRequest)
        .join(RightsRequest, RightsRequest.id == RightsNotice.request_id)
        .where(RightsNotice.sent_at.is_(None), RightsNotice.due_at <= now, RightsRequest.status.in_(_RUNNING))
        .order_by(RightsNotice.request_id, RightsNotice.due_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=RightsNotice)
    return query


def explain(now: datetime) -> str:
    """The plan of the claim on this database, as the driver receives it (rolled back)."""
    from sqlalchemy import event

    from consent_service.extensions import db

    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    connection = db.session.connection()
    event.listen(connection, "before_cursor_execute", capture)
    try:
        db.session.execute(claim_query(now)).all()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    prefix = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    db.session.rollback()
    return "\n".join(" | ".join(str(v) for v in row) for row in rows)


def timed(fn, *args):
    """``fn(*args)`` and how long it took, in seconds."""
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def best_of(rounds: int, fn) -> float:
    """The shortest of ``rounds`` timings of ``fn()``, each in a transaction rolled back."""
    from consent_service.extensions import db

    times = []
    for _ in range(rounds):
        _, seconds = timed(fn)
        db.session.rollback()
        times.append(seconds)
    return min(times)


def bench_sweep(database_url: str, count: int, orgs: int, env: dict[str, str]) -> dict:
    """Seed, then time the sweeps and the floor; return the figures."""
    from consent_service.extensions import db
    from consent_service.mail.models import MailMessage
    from consent_service.rights import jobs
    from consent_service.rights.models import RightsNotice
    from consent_service.webhooks.models import WebhookDelivery

    migrate_fresh(database_url, env)
    app = bench_app(database_url, env["CONSENT_SECRET_KEY"])
    figures: dict = {}
    with app.app_context():
        rows, seconds = timed(seed_requests, count, orgs)
        log(f"seeded {rows} in {seconds:.1f} s")
        figures["seed"] = rows
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        unsent = db.session.scalar(select(func.count()).where(RightsNotice.sent_at.is_(None)))
        due = db.session.scalar(
            select(func.count()).where(RightsNotice.sent_at.is_(None), RightsNotice.due_at <= SWEEP_AT)
        )
        figures["due"], figures["unsent"] = due, unsent
        db.session.rollback()
        log(f"notices due at {SWEEP_AT:%Y-%m-%d %H:%M} UTC: {due:,} of {unsent:,} unsent")
        log("the claim's plan:\n" + explain(SWEEP_AT))

        def claim():
            return db.session.execute(claim_query(SWEEP_AT)).all()

        def index_range():
            return db.session.scalar(
                select(func.count()).where(RightsNotice.sent_at.is_(None), RightsNotice.due_at <= SWEEP_AT)
            )

        figures["floor_claim"] = best_of(3, claim)
        figures["floor_range"] = best_of(3, index_range)
        db.session.remove()

        runs = []
        while True:
            counts, seconds = timed(jobs.sweep_deadlines)
            db.session.remove()
            runs.append((counts, seconds))
            log(f"sweep {len(runs)}: {counts} in {seconds:.2f} s")
            if not (counts["reminders"] or counts["overdue"] or counts["passed"]) or len(runs) > 20:
                break
        figures["runs"] = runs
        _, figures["empty"] = timed(jobs.sweep_deadlines)
        figures["empty_again"] = timed(jobs.sweep_deadlines)[1]
        figures["mails"] = db.session.scalar(
            select(func.count()).where(MailMessage.kind.in_(("rights.reminder", "rights.escalation")))
        )
        figures["webhooks"] = db.session.scalar(select(func.count()).select_from(WebhookDelivery))
        db.session.remove()
        db.engine.dispose()
    return figures


# --- the API ------------------------------------------------------------------------------------


def prepare_api(database_url: str, people: int, env: dict[str, str]) -> dict:
    """A fresh database with one organization, a ``rights:write`` client and ``people`` people."""
    from consent_service.consent.models import Subject
    from consent_service.extensions import db
    from consent_service.oauth import service as oauth
    from consent_service.organizations import service as organizations

    migrate_fresh(database_url, env)
    app = bench_app(database_url, env["CONSENT_SECRET_KEY"])
    now = datetime.now(UTC)
    with app.app_context():
        organizations.load_catalogue()
        org = organizations.create_organization(
            "bench", now, name_en="Bench Ltd", name_zh="压测公司", pipo_contact="pipo@bench.example"
        )
        issued = oauth.create_client(org, "bench", "rights:write rights:read", now)
        db.session.execute(
            insert(Subject),
            [
                {
                    "org_id": org.id,
                    "external_id": f"p{n}",
                    "email": f"p{n}@example.cn",
                    "is_under_14": False,
                    "chain_seq": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(people)
            ],
        )
        db.session.commit()
        result = {"client_id": issued.client.client_id, "client_secret": issued.client_secret}
        db.engine.dispose()
    return result


def bench_api(database_url: str, args, env: dict[str, str]) -> dict:
    """Serve with gunicorn, create requests with wrk, measure /healthz around them."""
    seeded = prepare_api(database_url, args.people, env)
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env
    )
    rnd = random.Random(5)
    bodies = [
        json.dumps({"subject": f"p{n}", "type": pick(rnd, TYPES), "identity_verified_by": "company"})
        for n in range(args.people)
    ]
    results: dict = {"rounds": []}
    try:
        wait_ready(base, server)
        token = api_bench.fetch_token(base, seeded)
        check = requests.post(
            f"{base}/api/v1/rights-requests",
            data=bodies[0],
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        )
        assert check.status_code == 201, check.text
        for _ in range(args.rounds):
            ceiling = api_bench.wrk(base, args, "/healthz")
            created = api_bench.wrk(base, args, "/api/v1/rights-requests", token, "POST", bodies)
            results["rounds"].append((ceiling, created))
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine_app = bench_app(database_url, env["CONSENT_SECRET_KEY"])
    with engine_app.app_context():
        from consent_service.extensions import db
        from consent_service.rights.models import RightsRequest

        results["stored"] = db.session.scalar(select(func.count()).select_from(RightsRequest))
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=100_000, help="open requests for the sweep")
    parser.add_argument("--orgs", type=int, default=3)
    parser.add_argument("--people", type=int, default=20_000, help="people for the API part")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="/healthz then the creation, this many times")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    if not args.skip_api and shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="rights-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    env = bench_env(
        database_url,
        f"http://127.0.0.1:{args.port}",
        CONSENT_BIND=f"127.0.0.1:{args.port}",
        CONSENT_API_RATE_LIMIT="1000000 per minute",
    )
    args.purposes = 1  # what api_bench.wrk passes on to the Lua script
    database = database_url.split(":")[0]
    if not args.skip_sweep:
        s = bench_sweep(database_url, args.requests, args.orgs, env)
        seed = s["seed"]
        print(
            f"\ndatabase: {database}   open requests: {seed['requests']:,} ({args.orgs} organizations, "
            f"{seed['subjects']:,} people)   notices: {seed['notices']:,}, {s['unsent']:,} unsent"
        )
        print(
            f"due at the sweep ({SWEEP_AT:%Y-%m-%d %H:%M} UTC, 09:03 Shanghai): {s['due']:,} notices "
            f"({s['due'] / seed['notices']:.1%} of all, {s['due'] / s['unsent']:.1%} of the unsent)"
        )
        first_counts, first = s["runs"][0]
        print(
            f"first sweep: {first:.2f} s for {first_counts['reminders'] + first_counts['overdue']:,} sent, "
            f"{first_counts['passed']:,} passed ({first_counts})"
        )
        busy = [(c, t) for c, t in s["runs"] if c["reminders"] or c["overdue"] or c["passed"]]
        print(
            f"until nothing was due: {len(busy)} sweeps, {sum(t for _, t in busy):.2f} s, "
            + ", ".join(f"{t:.2f}" for _, t in busy)
        )
        print(f"sweep with nothing due: {s['empty']:.3f} s, then {s['empty_again']:.3f} s")
        locking = ", FOR UPDATE SKIP LOCKED" if database.startswith("postgresql") else ""
        print(
            f"floor: the claim query alone (5,000 rows{locking}) "
            f"{s['floor_claim']:.3f} s; counting the due notices by the index {s['floor_range']:.3f} s"
        )
        print(f"queued: {s['mails']:,} mails, {s['webhooks']:,} webhook deliveries")
    if not args.skip_api:
        # A database of its own: SQLite's file is not emptied by migrate_fresh.
        api_url = (
            database_url if database_url.startswith("postgresql") else f"sqlite:///{workdir}/api.sqlite3"
        )
        api_env = bench_env(
            api_url,
            f"http://127.0.0.1:{args.port}",
            CONSENT_BIND=f"127.0.0.1:{args.port}",
            CONSENT_API_RATE_LIMIT="1000000 per minute",
        )
        a = bench_api(api_url, args, api_env)
        print(
            f"\ndatabase: {database}   POST /api/v1/rights-requests, {args.people:,} people, "
            f"wrk {args.threads} threads {args.connections} connections {args.duration} s"
        )
        print(
            f"{'round':<8}{'/healthz req/s':>16}{'create req/s':>14}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'x healthz':>11}{'errors':>8}"
        )
        for n, (ceiling, created) in enumerate(a["rounds"], 1):
            print(
                f"{n:<8}{ceiling['rps']:>16,.0f}{created['rps']:>14,.0f}{created['p50_ms']:>9.2f}"
                f"{created['p99_ms']:>9.2f}{created['rps'] / ceiling['rps']:>11.2f}{created['errors']:>8}"
            )
        print(f"requests stored: {a['stored']:,}")


if __name__ == "__main__":
    main()
