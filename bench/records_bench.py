"""How long a person's consent record takes: 1,000 events, and an empty record (the floor) in
the same run (the font, the stylesheet and the signature, without rows).

    .venv/bin/python bench/records_bench.py
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def main() -> None:
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


if __name__ == "__main__":
    main()
