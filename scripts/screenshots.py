"""Screenshots for the README: the demo organization served from a temporary SQLite file; the
person's dashboard signed in as one of its people, each page in Chinese and English at 390 px
(a phone) and 1280 px wide; the officer's console signed in as the demo officer, in both
languages at 1280 px; and the first page of sample signed records (a person's consent record,
a request's record, the record of processing activities, the compliance report) drawn with
pdftoppm; written to
``docs/screenshots/``.

    .venv/bin/python scripts/screenshots.py

Needs Debian's Chromium (``/usr/bin/chromium``) and the ``playwright`` package (``make install``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consent_service import create_app  # noqa: E402
from consent_service.audit.jobs import verify_all  # noqa: E402
from consent_service.clock import FixedClock  # noqa: E402
from consent_service.consent import subjects  # noqa: E402
from consent_service.dashboard.service import create_link  # noqa: E402
from consent_service.demo import STAFF, STAFF_PASSWORD, demo_organization, seed  # noqa: E402
from consent_service.extensions import db  # noqa: E402
from consent_service.records import downloads  # noqa: E402
from consent_service.rights import queries  # noqa: E402

OUT = ROOT / "docs/screenshots"
#: (file name, path): the pages shown.
PAGES = [
    ("consents", "/dashboard/"),
    ("history", "/dashboard/history"),
    ("requests", "/dashboard/requests"),
    ("new-request", "/dashboard/requests/new"),
    ("sign-in", "/dashboard/sign-in?org=demo"),
]
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
#: (file name, path; ``{first}``: the queue's most urgent request): the console's pages.
CONSOLE_PAGES = [
    ("console-overview", "/console/demo/"),
    ("console-queue", "/console/demo/requests"),
    ("console-request", "/console/demo/requests/{first}"),
    ("console-person", "/console/demo/subjects/u-1001"),
    ("console-audit", "/console/demo/audit"),
]
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="screenshots-"))
    clock = FixedClock(NOW)
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "screenshots-only",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.sqlite3'}",
            "CLOCK": clock,
            "BASE_URL": "http://127.0.0.1",
            "WEBHOOK_DISPATCH": "off",
            "MAIL_TRANSPORT": "memory",
        }
    )
    app.instance_path = str(folder / "instance")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    with app.app_context():
        upgrade()
        seed(NOW)
        db.session.commit()
    clock.advance(hours=1)  # the pages are seen an hour after the demo's acts
    OUT.mkdir(parents=True, exist_ok=True)
    _records(app, clock.now(), folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for width_name, (width, height) in WIDTHS.items():
                for lang in ("zh", "en"):
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    page.goto(base + _link(app))
                    for name, path in PAGES:
                        joiner = "&" if "?" in path else "?"
                        response = page.goto(f"{base}{path}{joiner}lang={lang}")
                        if response is None or response.status != 200:
                            print(f"skipped {path}: {response.status if response else 'no answer'}")
                            continue
                        target = OUT / f"{name}-{lang}-{width_name}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(target.relative_to(ROOT))
                    context.close()
            _console(browser, base)
            browser.close()
    finally:
        server.shutdown()


def _console(browser, base: str) -> None:
    """The console's pages, signed in as the demo officer."""
    for lang in ("zh", "en"):
        context = browser.new_context(
            viewport={"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]}
        )
        page = context.new_page()
        page.goto(f"{base}/console/demo/sign-in?lang={lang}")
        page.fill("#email", STAFF[0][0])
        page.fill("#password", STAFF_PASSWORD)
        page.click("form.sign-in button[type=submit]")
        page.goto(f"{base}/console/demo/requests?lang={lang}")
        first = page.locator("tbody td small.meta").first.inner_text().strip()
        for name, path in CONSOLE_PAGES:
            response = page.goto(f"{base}{path.format(first=first)}?lang={lang}")
            if response is None or response.status != 200:
                print(f"skipped {path}: {response.status if response else 'no answer'}")
                continue
            target = OUT / f"{name}-{lang}-desktop.png"
            page.screenshot(path=str(target), full_page=True)
            print(target.relative_to(ROOT))
        context.close()


def _records(app, now, folder: Path) -> None:
    """The first page of sample records, as PNG (pdftoppm, 80 dpi)."""
    with app.app_context():
        org = demo_organization()
        first = queries.list_requests(org, now, limit=1)[0][0]
        samples = {
            "record-consent": downloads.subject_pdf(org, subjects.get_subject(org, "u-1001"), now),
            "record-request": downloads.request_pdf(org, first.public_id, now),
            "record-processing": downloads.processing_pdf(org, now),
        }
        verify_all(org.slug)  # as the scheduled verification would have, for the report's proof
        samples["record-report"] = downloads.report_pdf(org, now - timedelta(days=30), now, now)
        db.session.commit()  # the signing key made for the first record
    for name, pdf in samples.items():
        source = folder / f"{name}.pdf"
        source.write_bytes(pdf)
        command = [
            PDFTOPPM,
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(source),
            str(OUT / name),
        ]
        subprocess.run(command, check=True)  # noqa: S603 (our own files, a fixed program)
        print((OUT / f"{name}.png").relative_to(ROOT))


def _link(app) -> str:
    with app.app_context():
        org = demo_organization()
        url, _ = create_link(org, subjects.get_subject(org, "u-1001"), NOW)
        db.session.commit()
    return urlsplit(url).path


if __name__ == "__main__":
    main()
