"""The deadline sweep with committed data: two schedulers at once, a run that dies half-way,
catch-up after downtime over many requests at different stages.

These tests commit for real (no rolled-back ``db`` fixture): each thread pushes its own
application context and so works on its own session and connection, as two scheduler processes
would. Each test gets an organization of its own with requests received on different days, so
that at any moment some are far from their deadline, some near it and some past it; everything
is deleted at the end of the test. What the sweep should have done is read back from the
``rights_notice`` rows (the latest notice due for a request goes out, the earlier ones are
passed over) and compared with what the outboxes hold: the mails, unsealed, named by the
request's id, and the webhook deliveries.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from consent_service.extensions import db
from consent_service.mail.envelope import Envelope
from consent_service.mail.models import MailMessage
from consent_service.rights import actions, jobs, service, sweeps
from consent_service.rights.models import RightsNotice, RightsRequest
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery
from tests.conftest import IS_POSTGRES, T0
from tests.factories import make_org, make_subject
from tests.rights.conftest import OFFICER

only_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="needs DATABASE_URL to point at PostgreSQL")

#: Deletion requests (15 working days) received two a day from T0 (Monday 2026-11-02).
REQUESTS = 48
#: A moment when most of them have something due, some several notices, some their escalation.
SWEEP_AT = T0 + timedelta(days=24, hours=3)
WAIT = 60  # seconds; only a bound on waits for events, never a synchronization
_DAYS = re.compile(r"(\d+) 个工作日")


@dataclass
class World:
    """The organization of one test and its requests' public ids."""

    slug: str
    org_id: int
    public_ids: list[str]


@pytest.fixture
def world(app, clock):
    """A committed organization, its officers, a webhook endpoint for every event, and
    ``REQUESTS`` verified deletion requests received over 24 days; removed after the test."""
    slug = f"sweep-{uuid.uuid4().hex[:12]}"
    with app.app_context():
        org = make_org(T0, slug=slug)
        webhooks.create_endpoint(org, "https://hooks.example/rights", ["*"], T0)
        public_ids = []
        for n in range(REQUESTS):
            received = T0 + timedelta(days=n // 2, hours=5 * (n % 2))
            make_subject(org, received, f"person-{n}", email=f"person{n}@example.cn")
            request = service.create_request(
                org, f"person-{n}", "deletion", received, identity_verified_by="company", client_id="cs_x"
            )
            actions.assign(org, request.public_id, "li.officer@shop.example", received, OFFICER)
            public_ids.append(request.public_id)
        org_id = org.id
        db.session.commit()
    yield World(slug, org_id, public_ids)
    with app.app_context():
        requests = "SELECT id FROM rights_request WHERE org_id = :org"
        for table in ("rights_notice", "rights_request_event", "rights_pause", "rights_identity_code"):
            db.session.execute(text(f"DELETE FROM {table} WHERE request_id IN ({requests})"), {"org": org_id})
        for table in ("rights_request", "webhook_delivery", "webhook_endpoint", "mail_message", "subject"):
            db.session.execute(text(f"DELETE FROM {table} WHERE org_id = :org"), {"org": org_id})
        db.session.execute(text("DELETE FROM organization WHERE id = :org"), {"org": org_id})
        db.session.commit()


@dataclass
class Outcome:
    """What the database holds for the world's requests, read in a fresh session."""

    #: (request, notice kind) -> outcome, for the notices marked.
    notices: dict[tuple[str, str], str]
    #: (request, mail kind, working days or None, recipient) -> how many were queued.
    mails: Counter
    #: (request, event type) -> how many deliveries were queued.
    webhooks: Counter
    #: request -> (at_risk, overdue).
    flags: dict[str, tuple[bool, bool]]


def read_outcome(app, world: World) -> Outcome:
    """Read back the notices, mails, webhooks and flags of ``world`` as committed."""
    with app.app_context():
        rows = db.session.execute(
            select(RightsRequest.public_id, RightsNotice.kind, RightsNotice.outcome)
            .join(RightsRequest, RightsRequest.id == RightsNotice.request_id)
            .where(RightsRequest.org_id == world.org_id, RightsNotice.sent_at.is_not(None))
        )
        notices = {(public_id, kind): outcome for public_id, kind, outcome in rows}
        mails: Counter = Counter()
        query = select(MailMessage).where(
            MailMessage.org_id == world.org_id, MailMessage.kind.in_(("rights.reminder", "rights.escalation"))
        )
        for message in db.session.scalars(query):
            envelope = Envelope.unseal(message.content_encrypted)
            # One mail per officer and kind per run, a line per request.
            for line in envelope.text.splitlines():
                if not line.startswith("- "):
                    continue
                [public_id] = [p for p in world.public_ids if line.startswith(f"- {p}（")]
                days = _DAYS.search(line)
                mails[(public_id, message.kind, days and int(days.group(1)), envelope.to)] += 1
        hooks: Counter = Counter()
        for event_type, payload in db.session.execute(
            select(WebhookDelivery.event_type, WebhookDelivery.payload).where(
                WebhookDelivery.org_id == world.org_id,
                WebhookDelivery.event_type.in_(("rights.request.at_risk", "rights.request.overdue")),
            )
        ):
            hooks[(payload["data"]["id"], event_type)] += 1
        flags = {
            public_id: (at_risk, overdue)
            for public_id, at_risk, overdue in db.session.execute(
                select(RightsRequest.public_id, RightsRequest.at_risk, RightsRequest.overdue).where(
                    RightsRequest.org_id == world.org_id
                )
            )
        }
        db.session.rollback()
    return Outcome(notices, mails, hooks, flags)


def due_notices(app, world: World, after: datetime | None, until: datetime) -> dict[str, list[tuple]]:
    """Each request's notices due in ``(after, until]``, oldest first: ``[(kind, due_at)]``."""
    with app.app_context():
        query = (
            select(RightsRequest.public_id, RightsNotice.kind, RightsNotice.due_at)
            .join(RightsRequest, RightsRequest.id == RightsNotice.request_id)
            .where(RightsRequest.org_id == world.org_id, RightsNotice.due_at <= until)
            .order_by(RightsNotice.due_at)
        )
        if after is not None:
            query = query.where(RightsNotice.due_at > after)
        due: dict[str, list[tuple]] = {}
        for public_id, kind, due_at in db.session.execute(query):
            due.setdefault(public_id, []).append((kind, due_at))
        db.session.rollback()
    return due


def expected_mails(sent: dict[str, str]) -> Counter:
    """Two mails per notice sent (the assigned officer and the PI protection officer)."""
    expected: Counter = Counter()
    for public_id, kind in sent.items():
        mail_kind = "rights.escalation" if kind == "overdue" else "rights.reminder"
        days = None if kind == "overdue" else int(kind.split(":")[1])
        for to in ("li.officer@shop.example", "pipo@shop.example"):
            expected[(public_id, mail_kind, days, to)] += 1
    return expected


def expected_webhooks(*runs: dict[str, str]) -> Counter:
    """``at_risk`` once for a request reminded in any run, ``overdue`` once for one escalated."""
    sent = [(public_id, kind) for run in runs for public_id, kind in run.items()]
    reminded = {p for p, k in sent if k != "overdue"}
    escalated = {p for p, k in sent if k == "overdue"}
    return Counter(
        {(p, "rights.request.at_risk"): 1 for p in reminded}
        | {(p, "rights.request.overdue"): 1 for p in escalated}
    )


def assert_sent_once(outcome: Outcome, sent: dict[str, str], passed: set[tuple[str, str]]) -> None:
    """``sent`` (request -> notice kind) went out once each, with its mails and webhooks,
    ``passed`` were passed over, and nothing else was marked."""
    assert outcome.notices == {(p, k): "sent" for p, k in sent.items()} | dict.fromkeys(passed, "passed")
    assert outcome.mails == expected_mails(sent)
    assert outcome.webhooks == expected_webhooks(sent)
    assert {p for p, (at_risk, _) in outcome.flags.items() if at_risk} == {
        p for p, k in sent.items() if k != "overdue"
    }
    assert {p for p, (_, overdue) in outcome.flags.items() if overdue} == {
        p for p, k in sent.items() if k == "overdue"
    }


def plan(due: dict[str, list[tuple]]) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """What one sweep should do with ``due``: send each request's latest notice, pass the rest."""
    sent = {public_id: notices[-1][0] for public_id, notices in due.items()}
    passed = {(public_id, kind) for public_id, notices in due.items() for kind, _ in notices[:-1]}
    return sent, passed


def stages(due: dict[str, list[tuple]]) -> Counter:
    """How many requests have one notice due, several, or their escalation among them."""
    return Counter(
        "escalation" if notices[-1][0] == "overdue" else "several" if len(notices) > 1 else "one"
        for notices in due.values()
    )


@only_postgres
def test_two_schedulers_at_once_send_each_notice_once(app, world, clock):
    due = due_notices(app, world, None, SWEEP_AT)
    sent, passed = plan(due)
    assert len(due) >= 20 and set(stages(due)) == {"one", "several", "escalation"}  # the data is varied
    clock.at = SWEEP_AT
    start = threading.Barrier(2)
    # Each scheduler waits, right after its claim, for the other's: both have read the due
    # notices before either commits. A claim that waited for the other's locks instead of
    # skipping them would never get there, and the barrier would break.
    claimed = threading.Barrier(2)
    broken: list[str] = []

    def after_claim(conn, cursor, statement, parameters, context, executemany):
        if "FROM rights_notice" in statement and "FOR UPDATE" in statement:
            try:
                claimed.wait(timeout=5)
            except threading.BrokenBarrierError:
                broken.append(statement)

    def scheduler(_index: int) -> dict[str, int]:
        with app.app_context():
            start.wait(timeout=WAIT)
            return jobs.sweep_deadlines()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after_claim)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [f.result(timeout=WAIT) for f in [pool.submit(scheduler, i) for i in range(2)]]
    finally:
        event.remove(engine, "after_cursor_execute", after_claim)

    assert broken == [], "the second claim waited for the first's locks instead of skipping them"
    # The two may share the requests between them; together they sent each one's notice once.
    assert sum(r["reminders"] + r["overdue"] for r in results) == len(sent)
    assert_sent_once(read_outcome(app, world), sent, passed)


@pytest.mark.parametrize(
    ("failing", "nth"),
    # The webhooks are queued first, in one call per organization, then one mail per officer
    # and kind: the third mail dies with the webhooks and two mails already written.
    [("queue_mail", 3), ("emit_many", 1)],
)
def test_a_run_that_dies_half_way_keeps_nothing_and_the_next_sends_it_all(
    app, world, clock, monkeypatch, failing, nth
):
    due = due_notices(app, world, None, SWEEP_AT)
    sent, passed = plan(due)
    clock.at = SWEEP_AT
    real = getattr(sweeps, failing)
    calls = []

    def dies_on_the_nth_call(*args, **kwargs):
        calls.append(args)
        if len(calls) == nth:
            raise RuntimeError("the scheduler died")
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps, failing, dies_on_the_nth_call)
    with app.app_context(), pytest.raises(RuntimeError, match="the scheduler died"):
        jobs.sweep_deadlines()
    assert len(calls) == nth  # it died in the middle, with notices marked and more written
    nothing = read_outcome(app, world)
    assert (nothing.notices, nothing.mails, nothing.webhooks) == ({}, Counter(), Counter())
    assert not any(at_risk or overdue for at_risk, overdue in nothing.flags.values())

    monkeypatch.setattr(sweeps, failing, real)
    with app.app_context():
        jobs.sweep_deadlines()
        again = jobs.sweep_deadlines()  # and a run after it finds nothing left
    assert (again["reminders"], again["overdue"], again["passed"]) == (0, 0, 0)
    assert_sent_once(read_outcome(app, world), sent, passed)


def test_after_three_days_down_each_request_gets_only_its_most_urgent_notice(app, world, clock):
    last_run = SWEEP_AT - timedelta(days=3)
    first = due_notices(app, world, None, last_run)
    clock.at = last_run
    with app.app_context():
        jobs.sweep_deadlines()
    # The scheduler is down for three days, then runs again.
    missed = due_notices(app, world, last_run, SWEEP_AT)
    assert stages(missed)["several"] >= 3 and stages(missed)["escalation"] >= 3, stages(missed)
    # Some requests missed a reminder and reached their deadline meanwhile.
    assert any(len(notices) > 1 and notices[-1][0] == "overdue" for notices in missed.values())
    clock.at = SWEEP_AT
    with app.app_context():
        counts = jobs.sweep_deadlines()
    sent_before, passed_before = plan(first)
    sent_now, passed_now = plan(missed)
    assert counts["reminders"] + counts["overdue"] == len(missed)
    assert counts["passed"] == len(passed_now)

    outcome = read_outcome(app, world)
    marked = dict.fromkeys(passed_before | passed_now, "passed")
    marked |= {(p, k): "sent" for p, k in [*sent_before.items(), *sent_now.items()]}
    assert outcome.notices == marked
    assert outcome.mails == expected_mails(sent_before) + expected_mails(sent_now)
    assert outcome.webhooks == expected_webhooks(sent_before, sent_now)
