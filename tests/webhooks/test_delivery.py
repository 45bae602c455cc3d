"""Webhooks to a real HTTP receiver on 127.0.0.1: signature, retry, ordering, redelivery.

The receiver (``tests.webhooks.receiver``: ``http.server`` in a thread) records every attempt
and can be told to answer 500 to the first N. Each test runs its own application on its own
SQLite file, because the outbox is read and written by other connections (the dispatcher
thread, ``deliver_due``) and so has to be committed for real. The receiver is on this machine,
so these applications allow private webhook targets (``WEBHOOK_ALLOW_PRIVATE_HOSTS``), as
development does.

- With ``WEBHOOK_DISPATCH = "thread"`` a withdrawal reaches the receiver on its own, right
  after the commit: the test waits on a :class:`threading.Event` the receiver sets, never on
  a sleep.
- Retry and ordering call :func:`deliver_due` with a controlled ``now`` (dispatch off), so
  the backoff is passed by moving time, not by waiting.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from consent_service.unit_of_work import unit_of_work
from consent_service.webhooks.delivery import SIGNATURE_HEADER, deliver_due, verify_signature
from tests.api.live import bearer_headers, dispose, make_live_app, make_tenant
from tests.conftest import T0
from tests.webhooks.receiver import Attempt, Receiver

#: Generous: the dispatcher is woken by the commit and sends at once; this only bounds a hang.
ARRIVAL_TIMEOUT = 10


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # nothing must ever route this elsewhere
    with Receiver() as live:
        yield live


@pytest.fixture
def threaded_app(tmp_path, receiver):
    """Dispatch from the background thread; stopped (and its listener removed) at the end."""
    app = make_live_app(
        tmp_path / "webhooks-thread", WEBHOOK_DISPATCH="thread", WEBHOOK_ALLOW_PRIVATE_HOSTS=True
    )
    dispatcher = app.extensions["webhook_dispatcher"]
    yield app
    dispose(app)
    assert dispatcher.thread is None or not dispatcher.thread.is_alive(), "the dispatcher did not stop"
    assert not event.contains(Session, "after_commit", dispatcher.after_commit)


@pytest.fixture
def quiet_app(tmp_path, receiver):
    """No dispatcher: the test calls ``deliver_due`` itself."""
    app = make_live_app(tmp_path / "webhooks-off", WEBHOOK_DISPATCH="off", WEBHOOK_ALLOW_PRIVATE_HOSTS=True)
    yield app
    dispose(app)


class Company:
    """The tenant's back end talking to the application through its test client."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()
        self.headers = bearer_headers(self.client, make_tenant(app))

    def subscribe(self, url: str, events: list[str]) -> dict:
        response = self.client.post(
            "/api/v1/webhooks", json={"url": url, "events": events}, headers=self.headers
        )
        assert response.status_code == 201, response.json
        return response.json

    def person(self, external_id: str) -> None:
        response = self.client.put(f"/api/v1/subjects/{external_id}", json={}, headers=self.headers)
        assert response.status_code == 201, response.json

    def act(self, external_id: str, action: str, purpose: str = "marketing") -> dict:
        body = {"purpose": purpose, "action": action}
        if action == "grant":
            body["consent_type"] = "explicit"
        response = self.client.post(
            f"/api/v1/subjects/{external_id}/consents", json=body, headers=self.headers
        )
        assert response.status_code == 201, response.json
        return response.json

    def deliveries(self, webhook_id: str) -> list[dict]:
        response = self.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=self.headers)
        assert response.status_code == 200, response.json
        return response.json["deliveries"]

    def deliver_due(self, now):
        with self.app.app_context(), unit_of_work():
            return deliver_due(now)


def _verifies(secret: str, attempt: Attempt, now) -> bool:
    return verify_signature(secret, attempt.headers[SIGNATURE_HEADER], attempt.body, int(now.timestamp()))


def test_withdrawal_reaches_the_receiver_after_commit(threaded_app, receiver):
    company = Company(threaded_app)
    webhook = company.subscribe(receiver.url, ["consent.granted", "consent.withdrawn"])
    company.person("u-1")
    granted = company.act("u-1", "grant")
    threaded_app.extensions["clock"].advance(minutes=5)

    withdrawn_arrived = receiver.on("consent.withdrawn")
    withdrawn = company.act("u-1", "withdraw")
    assert withdrawn_arrived.wait(ARRIVAL_TIMEOUT), f"no consent.withdrawn within {ARRIVAL_TIMEOUT} s"

    # Stop the dispatcher (it finishes the run in progress) so the outbox is settled.
    threaded_app.extensions["webhook_dispatcher"].stop()
    now = threaded_app.extensions["clock"].now()
    attempts = receiver.accepted()
    assert [a.headers["X-Consent-Event"] for a in attempts] == ["consent.granted", "consent.withdrawn"]
    last = attempts[-1]
    assert last.path == "/hooks"
    assert last.headers["Content-Type"] == "application/json"
    assert _verifies(webhook["secret"], last, now)
    assert not _verifies("whsec_someone-else", last, now)
    tampered = Attempt(last.path, last.headers, last.body.replace(b"withdrawn", b"granted"), last.answered)
    assert not _verifies(webhook["secret"], tampered, now)

    event = last.event
    assert event["type"] == "consent.withdrawn"
    assert event["data"]["subject"] == "u-1"
    assert event["data"]["purpose"] == "marketing"
    assert event["data"]["status"] == "withdrawn"
    assert event["data"]["consent_event_id"] == withdrawn["event"]["id"]
    assert attempts[0].event["data"]["consent_event_id"] == granted["event"]["id"]

    deliveries = company.deliveries(webhook["id"])
    assert [(d["event_type"], d["status"], d["attempts"]) for d in deliveries] == [
        ("consent.withdrawn", "delivered", 1),
        ("consent.granted", "delivered", 1),
    ]
    assert deliveries[0]["id"] == last.headers["X-Consent-Delivery"]


def test_failed_delivery_is_retried_after_the_backoff(quiet_app, receiver):
    company = Company(quiet_app)
    webhook = company.subscribe(receiver.url, ["consent.withdrawn"])
    company.person("u-2")
    company.act("u-2", "grant")
    withdrawn = company.act("u-2", "withdraw")
    receiver.fail_first = 1
    first_retry = quiet_app.config["WEBHOOK_FIRST_RETRY_SECONDS"]

    assert company.deliver_due(T0)["retrying"] == 1
    assert [a.answered for a in receiver.attempts] == [500]
    [pending] = company.deliveries(webhook["id"])
    assert (pending["status"], pending["attempts"], pending["last_status_code"]) == ("pending", 1, 500)

    before_backoff = T0 + timedelta(seconds=first_retry - 1)
    assert company.deliver_due(before_backoff)["waiting"] == 1
    assert len(receiver.attempts) == 1, "retried before the backoff had passed"

    after_backoff = T0 + timedelta(seconds=first_retry + 1)
    assert company.deliver_due(after_backoff)["delivered"] == 1
    first, second = receiver.attempts
    assert second.answered == 200
    assert second.headers["X-Consent-Delivery"] == first.headers["X-Consent-Delivery"]
    assert second.event == first.event
    assert second.event["data"]["consent_event_id"] == withdrawn["event"]["id"]
    assert _verifies(webhook["secret"], second, after_backoff)

    [delivered] = company.deliveries(webhook["id"])
    assert delivered["status"] == "delivered"
    assert delivered["attempts"] == 2
    assert delivered["last_status_code"] == 200
    assert delivered["last_error"] is None

    assert company.deliver_due(after_backoff + timedelta(hours=1)) == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
        "waiting": 0,
    }
    assert len(receiver.attempts) == 2, "a delivered webhook was sent again"


def test_events_of_one_person_arrive_in_the_order_written(quiet_app, receiver):
    company = Company(quiet_app)
    webhook = company.subscribe(receiver.url, ["consent.granted", "consent.withdrawn"])
    company.person("u-3")
    company.person("u-4")
    first = company.act("u-3", "grant")
    second = company.act("u-3", "withdraw")
    other = company.act("u-4", "grant")
    receiver.fail_first = 1  # the very first attempt: u-3's grant

    counts = company.deliver_due(T0)
    # u-3's withdrawal waits behind its failed grant; u-4 is not held up by u-3.
    assert counts == {"delivered": 1, "retrying": 1, "failed": 0, "waiting": 1}
    assert [a.event["data"]["consent_event_id"] for a in receiver.accepted()] == [other["event"]["id"]]

    counts = company.deliver_due(T0 + timedelta(seconds=quiet_app.config["WEBHOOK_FIRST_RETRY_SECONDS"] + 1))
    assert counts == {"delivered": 2, "retrying": 0, "failed": 0, "waiting": 0}

    sent = [(a.answered, a.event["data"]["consent_event_id"]) for a in receiver.attempts]
    assert sent == [
        (500, first["event"]["id"]),
        (200, other["event"]["id"]),
        (200, first["event"]["id"]),
        (200, second["event"]["id"]),
    ]
    u3 = [a.event for a in receiver.accepted() if a.event["data"]["subject"] == "u-3"]
    assert [e["type"] for e in u3] == ["consent.granted", "consent.withdrawn"]
    assert [d["status"] for d in company.deliveries(webhook["id"])] == ["delivered"] * 3


def test_redelivery_sends_the_same_event_again(quiet_app, receiver):
    company = Company(quiet_app)
    webhook = company.subscribe(receiver.url, ["*"])
    company.person("u-5")
    company.act("u-5", "grant")
    company.deliver_due(T0)
    [original] = company.deliveries(webhook["id"])
    assert original["status"] == "delivered"

    response = company.client.post(
        f"/api/v1/webhooks/{webhook['id']}/deliveries/{original['id']}/redeliver", headers=company.headers
    )
    assert response.status_code == 202, response.json
    assert response.json["event_id"] == original["event_id"]
    assert response.json["id"] != original["id"]
    company.deliver_due(T0)

    first, again = receiver.attempts
    assert again.event == first.event
    assert again.headers["X-Consent-Delivery"] == response.json["id"]
    assert _verifies(webhook["secret"], again, T0)
