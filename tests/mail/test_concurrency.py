"""Two deliverers at once on PostgreSQL: each pending mail goes to one of them, never both.

These tests commit for real (no rolled-back ``db`` fixture): each thread pushes its own
application context and so works on its own session and connection, as two scheduler processes
would. The mails are marked by a kind of this module's own and deleted at the end.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select, text

from consent_service.extensions import db
from consent_service.mail.models import MailMessage
from consent_service.mail.service import deliver_due_mail, queue_mail
from consent_service.unit_of_work import unit_of_work
from tests.conftest import T0

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs DATABASE_URL to point at PostgreSQL",
    ),
]

WAIT = 60  # seconds; only a bound on waits for events, never a synchronization


class Recording:
    """A transport shared by threads: which Message-IDs it was handed, and how often."""

    def __init__(self, on_send=None) -> None:
        self.sent: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.on_send = on_send

    def send(self, message) -> None:
        """Count the message, then do what the test asks (wait, usually)."""
        with self.lock:
            self.sent[str(message["Message-ID"])] += 1
        if self.on_send:
            self.on_send()


@pytest.fixture
def mails(app):
    """Queue and commit ``count`` mails of a kind of their own; delete them afterwards."""
    kind = f"test.concurrency_{uuid.uuid4().hex[:12]}"
    made: list[str] = []

    def queue(count: int) -> list[str]:
        with app.app_context(), unit_of_work():
            for n in range(count):
                message = queue_mail(f"person{n}@example.cn", "通知", "正文", kind=kind, now=T0)
                made.append(f"<{message.public_id}@consent.localhost>")
        return list(made)

    yield queue
    with app.app_context(), unit_of_work():
        db.session.execute(delete(MailMessage).where(MailMessage.kind == kind))


def _statuses(app, ids: list[str]) -> Counter[str]:
    public_ids = [i.strip("<>").split("@")[0] for i in ids]
    with app.app_context():
        return Counter(
            db.session.scalars(select(MailMessage.status).where(MailMessage.public_id.in_(public_ids)))
        )


def test_rows_one_deliverer_holds_are_skipped_by_the_other(app, mails):
    ids = mails(3)
    holding = threading.Event()
    release = threading.Event()

    def wait_once():
        if not holding.is_set():
            holding.set()
            assert release.wait(timeout=WAIT), "the main thread never released the first deliverer"

    first = Recording(on_send=wait_once)

    def deliver_first() -> dict[str, int]:
        with app.app_context(), unit_of_work():
            return deliver_due_mail(T0, first, limit=len(ids) + 100)

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(deliver_first)
        try:
            assert holding.wait(timeout=WAIT), "the first deliverer never sent"
            second = Recording()
            with app.app_context(), unit_of_work():
                # Should the claim wait for the locks instead of skipping them, fail, not hang.
                db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
                deliver_due_mail(T0, second, limit=len(ids) + 100)
            assert not set(ids) & set(second.sent), "the second deliverer took a locked mail"
            assert not future.done()
        finally:
            release.set()
        future.result(timeout=WAIT)

    assert all(first.sent[i] == 1 for i in ids)
    assert _statuses(app, ids) == Counter({"sent": len(ids)})


def test_many_deliverers_at_once_send_each_mail_once(app, mails):
    ids = mails(40)
    threads = 4
    barrier = threading.Barrier(threads)
    transport = Recording()

    def deliverer(_index: int) -> int:
        with app.app_context():
            barrier.wait(timeout=WAIT)
            sent = 0
            while True:
                with unit_of_work():
                    counts = deliver_due_mail(T0, transport, limit=3)
                if not any(counts.values()):
                    return sent
                sent += counts["sent"]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(deliverer, range(threads)))

    assert {i: transport.sent[i] for i in ids} == dict.fromkeys(ids, 1)
    assert sum(results) >= len(ids)
    assert _statuses(app, ids) == Counter({"sent": len(ids)})
