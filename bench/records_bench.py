"""How long the records take.

A person's consent record: 1,000 events, and an empty record (the floor) in the same run (the
font, the stylesheet and the signature, without rows).

The compliance report of an organization with 1,000,000 consent events (``--report``), seeded
as ``bench/export_bench.py`` seeds them, written in a child process of its own (its peak RSS
its own): the summary counted in SQL, both files of full data streamed into it, drawn, signed
and appended, as the ``exports`` job writes it. Its floor, in the same run: the database
handing over the rows of both files and the summary's statements, dropped (through the
driver's cursor on SQLite, by ``COPY`` on PostgreSQL).

    .venv/bin/python bench/records_bench.py
    .venv/bin/python bench/records_bench.py --report          # SQLite in a temporary folder
    .venv/bin/python bench/records_bench.py --report --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The PostgreSQL database is emptied first: name one used for nothing else.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pypdf  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from consent_service import create_app  # noqa: E402
from consent_service.clock import FixedClock  # noqa: E402
from consent_service.extensions import db  # noqa: E402
from consent_service.organizations import service as organizations  # noqa: E402
from consent_service.records import downloads  # noqa: E402
from tests.conftest import T0  # noqa: E402
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy  # noqa: E402

EVENTS = 1000


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def consent_record() -> None:
    """The 1,000-event consent record beside the empty one."""
    folder = tempfile.mkdtemp()
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "bench",
            "CLOCK": FixedClock(T0),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
            "BASE_URL": "https://consent.test",
            "WEBHOOK_DISPATCH": "off",
            "MAIL_TRANSPORT": "memory",
        }
    )
    with app.test_request_context():
        upgrade()
        organizations.load_catalogue()
        now = T0
        org = make_org(now, "bench")
        make_purpose(org, now, "marketing")
        publish_policy(org, now, "v1")
        empty = make_subject(org, now, "empty")
        person = make_subject(org, now, "busy")
        for _ in range(EVENTS // 2):
            now += timedelta(minutes=1)
            grant(org, person, now, "marketing")
            now += timedelta(minutes=1)
            act(org, person, now, "withdraw", "marketing")
        db.session.commit()
        downloads.subject_pdf(org, empty, now)  # warm: fonts, templates, the key
        floor = min(timed(lambda: downloads.subject_pdf(org, empty, now)) for _ in range(3))
        full = min(timed(lambda: downloads.subject_pdf(org, person, now)) for _ in range(3))
        pdf = downloads.subject_pdf(org, person, now)
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    print(f"empty consent record (floor): {floor:.2f} s")
    print(f"{EVENTS:,}-event consent record: {full:.2f} s, {len(pdf) / 1024:,.0f} KiB, {pages} pages")


def measure_report(database_url: str, org_id: int, mode: str, folder: str) -> dict:
    """In this (child) process: the compliance report of the whole seeded month written to a
    file (``report``), or its floor (``floor``); seconds, bytes, peak RSS."""
    import export_bench
    from sqlalchemy import event

    from consent_service.exports.rows import KINDS, driver_statement, stream_batches
    from consent_service.exports.service import reading_connection
    from consent_service.extensions import db
    from consent_service.organizations.models import Organization
    from consent_service.records.report import compliance_report
    from consent_service.records.report_file import ATTACHED, write_report
    from consent_service.records.verify import verify_record
    from consent_service.unit_of_work import unit_of_work

    app = export_bench.bench_app(database_url)
    start, end = export_bench.END - timedelta(days=31), export_bench.END
    figures: dict = {"mode": mode}
    with app.test_request_context():
        if db.engine.dialect.name == "sqlite":  # the mapped database file is not the report's memory
            event.listen(db.engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA mmap_size=0"))
        org = db.session.get(Organization, org_id)
        if mode == "floor":
            started = time.perf_counter()
            with reading_connection() as (connection, _shared):  # as the report reads
                compliance_report(org, start, end, end, connection)
                rows = 0
                for code in ATTACHED:
                    if connection.dialect.name == "postgresql":
                        sql, params = driver_statement(connection, KINDS[code].statement(org_id, start, end))
                        cursor = connection.connection.driver_connection.cursor()
                        with cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                            rows += sum(1 for _data in copy)
                    else:
                        batches = stream_batches(connection, KINDS[code], org_id, start, end)
                        rows += sum(len(batch) for batch in batches)
            figures |= {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}
        else:
            with unit_of_work(), open(Path(folder) / "warm.pdf", "wb") as out:  # fonts, templates, the key
                write_report(org, end, end, end, out)
            path = Path(folder) / "report.pdf"
            started = time.perf_counter()
            with unit_of_work(), open(path, "wb") as out:
                rows = write_report(org, start, end, end, out, work_folder=Path(folder))
            seconds = time.perf_counter() - started
            mib = round(path.stat().st_size / 2**20, 1)
            figures |= {"rows": rows, "seconds": round(seconds, 2), "mib": mib}
            started = time.perf_counter()
            check = verify_record(path)
            figures |= {"verified": check.ok, "verify_seconds": round(time.perf_counter() - started, 2)}
        db.engine.dispose()
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def report(database_url: str) -> None:
    """Seed 1,000,000 events, then the report and its floor, each in a child process."""
    import export_bench
    from api_bench import bench_env, log, migrate_fresh

    export_bench.SIZES = (1_000_000,)
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{folder}/bench.sqlite3"
        migrate_fresh(url, bench_env(url))
        org_id = export_bench.seed(url)["1000000"]
        results = []
        for mode in ("floor", "report"):
            command = [sys.executable, __file__, "--database-url", url,
                       "--measure", str(org_id), mode, folder]  # fmt: skip
            child = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)
            if child.returncode:
                log(child.stderr)
                raise SystemExit(f"the {mode} measurement failed")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            log(json.dumps(result))
            results.append(result)
        floor, written = results
        print(f"database: {url.split(':', 1)[0]}")
        handed = f"summary statements + {floor['rows']:,} rows handed over, dropped"
        print(f"floor ({handed}): {floor['seconds']:.2f} s")
        print(f"compliance report, 1,000,000 events: {written['seconds']:.2f} s "
              f"({written['seconds'] / floor['seconds']:.1f}x the floor), {written['mib']} MiB, "
              f"peak RSS {written['peak_rss_mib']} MiB; verified {written['verified']} "
              f"in {written['verify_seconds']:.2f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="the compliance report of 1,000,000 events")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--measure", nargs=3, metavar=("ORG_ID", "MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        org_id, mode, folder = args.measure
        print(json.dumps(measure_report(args.database_url, int(org_id), mode, folder)))
    elif args.report:
        report(args.database_url)
    else:
        consent_record()


if __name__ == "__main__":
    main()
