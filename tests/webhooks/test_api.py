"""Webhooks: subscriptions over the API, the outbox, signing, retries and ordering (PIPL 15).

Deliveries are written in the transaction of the change (a refused act writes none) and sent
by ``deliver_due`` with a sender the test provides: each is signed
``X-Consent-Signature: t=<unix>,v1=<hex HMAC-SHA256>``, a failure is retried after 10 s,
20 s, 40 s... for 24 hours and then marked failed, and a person's later delivery waits while
an earlier one is still pending.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from consent_service.consent import service as consent
from consent_service.consent import subjects
from consent_service.webhooks.delivery import SIGNATURE_HEADER, deliver_due, verify_signature
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint
from consent_service.webhooks.outcomes import Outcome
from tests.api_support import PROBLEM, assert_problem, issue_token
from tests.conftest import T0

GRANT = {"purpose": "marketing", "action": "grant", "consent_type": "explicit"}
WITHDRAW = {"purpose": "marketing", "action": "withdraw"}


def create(client, api, url="https://hooks.example/consent", events=("*",)):
    return client.post("/api/v1/webhooks", json={"url": url, "events": list(events)}, headers=api.headers)


def act(client, api, subject: str, body: dict):
    return client.post(f"/api/v1/subjects/{subject}/consents", json=body, headers=api.headers)


def rows(db, **where) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    return list(db.session.scalars(query))


class FakeSender:
    """Records each POST; answers with the status codes it is given, in turn (200 after)."""

    def __init__(self, *statuses: int | None) -> None:
        self.statuses = list(statuses)
        self.sent: list[dict] = []

    def __call__(self, url, body, headers, timeout):
        self.sent.append({"url": url, "body": body, "headers": headers, "timeout": timeout})
        status = self.statuses.pop(0) if self.statuses else 200
        if status is None:
            return Outcome.failed("connection_refused", "ConnectionRefusedError: [Errno 111] refused")
        return Outcome.answered(status)

    @property
    def subjects(self) -> list[str]:
        return [json.loads(s["body"])["data"]["subject"] for s in self.sent]

    @property
    def types(self) -> list[str]:
        return [json.loads(s["body"])["type"] for s in self.sent]


@pytest.fixture
def hook(client, api):
    """A webhook for every event; its answer carries the secret."""
    response = create(client, api)
    assert response.status_code == 201
    return response.json


@pytest.fixture
def people(client, api):
    for name in ("u1", "u2"):
        assert client.put(f"/api/v1/subjects/{name}", json={}, headers=api.headers).status_code == 201
    return ["u1", "u2"]


# --- subscriptions -----------------------------------------------------------------------------


def test_create_shows_the_secret_once(client, api, db):
    response = create(client, api, events=["consent.withdrawn", "consent.granted", "consent.withdrawn"])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["id"].startswith("wh_")
    assert body["url"] == "https://hooks.example/consent"
    assert body["events"] == ["consent.granted", "consent.withdrawn"]
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    listing = client.get("/api/v1/webhooks", headers=api.headers)
    assert listing.status_code == 200
    assert listing.json["webhooks"] == [{k: v for k, v in body.items() if k != "secret"}]
    assert body["secret"] not in listing.get_data(as_text=True)
    # Stored encrypted, never in the clear.
    stored = db.session.scalars(select(WebhookEndpoint)).one()
    assert body["secret"] not in stored.secret_encrypted


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"url": "not a url", "events": ["*"]}, {"url"}),
        ({"url": "ftp://hooks.example/in", "events": ["*"]}, {"url"}),
        ({"url": "https://hooks.example/in", "events": ["consent.sneezed"]}, {"events"}),
        ({"url": "https://hooks.example/in", "events": []}, {"events"}),
        ({"url": "https://hooks.example/in", "events": "consent.granted"}, {"events"}),
        ({"url": "https://hooks.example/" + "a" * 2000, "events": ["*"]}, {"url"}),
        ({"events": ["*"]}, {"url"}),
        ({"url": 5, "events": [7]}, {"url", "events"}),
    ],
    ids=["not-url", "ftp", "unknown-event", "no-events", "events-string", "too-long", "no-url", "types"],
)
def test_bad_subscription_is_422(client, api, db, body, fields):
    response = client.post("/api/v1/webhooks", json=body, headers=api.headers)
    assert response.status_code == 422, response.json
    assert response.mimetype == PROBLEM
    assert set(response.json["errors"]) == fields
    db.session.rollback()
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_delete(client, api, hook, people, db):
    assert act(client, api, "u1", GRANT).status_code == 201
    [pending] = rows(db)
    response = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.headers)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get("/api/v1/webhooks", headers=api.headers).json["webhooks"] == []
    again = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.headers)
    assert again.status_code == 404
    assert again.json["code"] == "not_found"
    deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=api.headers)
    assert deliveries.status_code == 404
    # What was not sent is given up, and nothing new is queued for it.
    db.session.refresh(pending)
    assert pending.status == "failed"
    assert pending.last_error == "endpoint deleted"
    assert act(client, api, "u1", WITHDRAW).status_code == 201
    assert len(rows(db)) == 1


def test_delete_unknown_is_404(client, api):
    response = client.delete("/api/v1/webhooks/wh_nope", headers=api.headers)
    assert response.status_code == 404


# --- the outbox --------------------------------------------------------------------------------


def test_a_withdrawal_writes_its_delivery(client, api, hook, people, db):
    assert act(client, api, "u1", GRANT).status_code == 201
    response = act(client, api, "u1", WITHDRAW)
    assert response.status_code == 201
    [granted, withdrawn] = rows(db)
    assert (granted.event_type, withdrawn.event_type) == ("consent.granted", "consent.withdrawn")
    assert withdrawn.status == "pending"
    assert withdrawn.next_attempt_at == T0
    assert withdrawn.ordering_key == "u1"
    payload = withdrawn.payload
    assert payload["type"] == "consent.withdrawn"
    assert payload["id"] == withdrawn.event_id
    assert payload["organization"] == api.org.slug
    assert payload["data"]["subject"] == "u1"
    assert payload["data"]["purpose"] == "marketing"
    assert payload["data"]["status"] == "withdrawn"
    assert payload["data"]["consent_event_id"] == response.json["event"]["id"]


def test_only_subscribed_events_are_written(client, api, people, db):
    assert create(client, api, events=["consent.withdrawn"]).status_code == 201
    assert act(client, api, "u1", GRANT).status_code == 201
    assert rows(db) == []
    assert act(client, api, "u1", WITHDRAW).status_code == 201
    assert [d.event_type for d in rows(db)] == ["consent.withdrawn"]
    # A withdrawal that changes nothing sends nothing.
    assert act(client, api, "u1", WITHDRAW).status_code == 200
    assert len(rows(db)) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"purposes": ["marketing", "face"], "action": "grant", "consent_type": "separate"},
            409,
            "separate_consent_required",
        ),
        ({"purpose": "nope", "action": "withdraw"}, 404, "not_found"),
        (
            {"purpose": "face", "action": "grant", "consent_type": "explicit"},
            409,
            "consent_type_insufficient",
        ),
        ({"purpose": "orders", "action": "grant", "consent_type": "explicit"}, 409, "consent_not_applicable"),
        ({"purpose": "marketing", "action": "withdraw", "actor": {"kind": "guardian"}}, 422, "invalid_input"),
    ],
    ids=["separate-bundle", "unknown-purpose", "weak-type", "not-on-consent", "bad-actor"],
)
def test_a_refused_act_writes_no_delivery(client, api, hook, people, db, body, status, code):
    assert_problem(act(client, api, "u1", body), status, code)
    db.session.rollback()
    assert rows(db) == []


def test_the_delivery_shares_the_transaction_of_the_change(api, hook, people, db, clock):
    subject = subjects.get_subject(api.org, "u1")
    consent.record_act(
        api.org, subject, clock.now(), purposes=["marketing"], action="grant", consent_type="explicit"
    )
    assert len(rows(db)) == 1  # written with the event...
    db.session.rollback()
    assert rows(db) == []  # ...and gone with it


# --- listing and redelivery ----------------------------------------------------------------------


def list_deliveries(client, api, hook_id: str, **query):
    return client.get(f"/api/v1/webhooks/{hook_id}/deliveries", query_string=query, headers=api.headers)


def test_deliveries_are_listed_newest_first_with_a_cursor(client, api, hook, people, db):
    for body in (GRANT, WITHDRAW, GRANT, WITHDRAW, GRANT):
        assert act(client, api, "u1", body).status_code == 201
    written = [d.public_id for d in rows(db)]
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = list_deliveries(client, api, hook["id"], **query)
        assert response.status_code == 200
        pages += 1
        seen += [d["id"] for d in response.json["deliveries"]]
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == written[::-1]
    first = list_deliveries(client, api, hook["id"]).json["deliveries"][0]
    assert first["event_type"] == "consent.granted"
    assert first["status"] == "pending"
    assert first["attempts"] == 0
    assert first["payload"]["data"]["subject"] == "u1"


def test_deliveries_filtered_by_status(client, api, hook, people, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    assert act(client, api, "u2", GRANT).status_code == 201
    deliver_due(clock.now(), sender=FakeSender(500, 200))
    failing = list_deliveries(client, api, hook["id"], status="pending").json["deliveries"]
    done = list_deliveries(client, api, hook["id"], status="delivered").json["deliveries"]
    assert [d["payload"]["data"]["subject"] for d in failing] == ["u1"]
    assert failing[0]["attempts"] == 1 and failing[0]["last_status_code"] == 500
    assert [d["payload"]["data"]["subject"] for d in done] == ["u2"]
    assert done[0]["delivered_at"] == clock.now().isoformat()


@pytest.mark.parametrize("query", ["status=lost", "limit=0", "limit=500", "cursor=x"])
def test_bad_delivery_query_is_422(client, api, hook, query):
    response = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?{query}", headers=api.headers)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM


def test_redeliver(client, api, hook, people, db, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    deliver_due(clock.now(), sender=FakeSender(200))
    [original] = rows(db)
    assert original.status == "delivered"
    clock.advance(minutes=5)
    response = client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{original.public_id}/redeliver", headers=api.headers
    )
    assert response.status_code == 202, response.json
    copy = response.json
    assert copy["id"] != original.public_id
    assert copy["event_id"] == original.event_id
    assert copy["status"] == "pending"
    assert copy["attempts"] == 0
    assert copy["created_at"] == clock.now().isoformat()
    assert copy["payload"] == original.payload
    assert [d.status for d in rows(db)] == ["delivered", "pending"]
    sender = FakeSender()
    deliver_due(clock.now(), sender=sender)
    assert [json.loads(s["body"])["id"] for s in sender.sent] == [original.event_id]
    assert sender.sent[0]["headers"]["X-Consent-Delivery"] == copy["id"]


def test_redeliver_unknown_delivery_is_404(client, api, hook):
    response = client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/whd_nope/redeliver", headers=api.headers
    )
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


# --- sending: signature, retries, ordering -------------------------------------------------------


def test_signature(client, api, hook, people, db, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    sender = FakeSender()
    assert deliver_due(clock.now(), sender=sender)["delivered"] == 1
    [sent] = sender.sent
    headers, body = sent["headers"], sent["body"]
    assert sent["url"] == hook["url"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Consent-Event"] == "consent.granted"
    assert headers["X-Consent-Delivery"] == rows(db)[0].public_id
    signature = headers[SIGNATURE_HEADER]
    now = int(clock.now().timestamp())
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", signature)
    assert match and int(match.group(1)) == now
    assert verify_signature(hook["secret"], signature, body, now)
    assert not verify_signature("whsec_wrong", signature, body, now)
    assert not verify_signature(hook["secret"], signature, body.replace(b"u1", b"u2"), now)
    assert not verify_signature(hook["secret"], signature, body, now + 301)  # too old: a replay
    assert not verify_signature(hook["secret"], "v1=" + match.group(2), body, now)
    assert json.loads(body) == rows(db)[0].payload
    assert rows(db)[0].status == "delivered"


def test_failure_is_retried_with_exponential_backoff(client, api, hook, people, db, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    sender = FakeSender(500, None, 503, 200)
    for expected_delay in (10, 20, 40):
        counts = deliver_due(clock.now(), sender=sender)
        assert counts["retrying"] == 1
        [delivery] = rows(db)
        assert delivery.status == "pending"
        assert delivery.next_attempt_at == clock.now() + timedelta(seconds=expected_delay)
        # Not before it is due.
        clock.advance(seconds=expected_delay - 1)
        assert deliver_due(clock.now(), sender=sender) == {
            "delivered": 0,
            "retrying": 0,
            "failed": 0,
            "waiting": 1,
        }
        clock.advance(seconds=1)
    assert deliver_due(clock.now(), sender=sender)["delivered"] == 1
    [delivery] = rows(db)
    assert delivery.status == "delivered"
    assert delivery.attempts == 4
    assert len(sender.sent) == 4
    assert delivery.delivered_at == T0 + timedelta(seconds=70)
    assert delivery.last_error is None


def test_after_24_hours_it_fails(client, api, hook, people, db, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    sender = FakeSender(*[500] * 100)
    attempts = []
    while True:
        deliver_due(clock.now(), sender=sender)
        [delivery] = rows(db)
        attempts.append(clock.now())
        if delivery.status != "pending":
            break
        clock.at = delivery.next_attempt_at
    assert delivery.status == "failed"
    assert delivery.last_error == "HTTP 500"
    delays = [int((b - a).total_seconds()) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert delays[:5] == [10, 20, 40, 80, 160]
    assert all(
        later == min(2 * earlier, 6 * 3600) for earlier, later in zip(delays, delays[1:], strict=False)
    )
    assert attempts[-1] <= T0 + timedelta(hours=24)
    assert attempts[-1] + timedelta(seconds=min(10 * 2 ** (len(attempts) - 1), 6 * 3600)) > T0 + timedelta(
        hours=24
    )
    assert len(sender.sent) == delivery.attempts == len(attempts)
    # A failed delivery is not tried again.
    clock.advance(days=1)
    assert deliver_due(clock.now(), sender=sender) == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
        "waiting": 0,
    }


def test_a_failure_seen_after_24_hours_is_final(client, api, hook, people, db, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    deliver_due(clock.now(), sender=FakeSender(500))
    clock.advance(hours=24, seconds=1)
    assert deliver_due(clock.now(), sender=FakeSender(500))["failed"] == 1
    assert rows(db)[0].status == "failed"


def test_a_persons_deliveries_keep_their_order(client, api, hook, people, db, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    assert act(client, api, "u1", WITHDRAW).status_code == 201
    assert act(client, api, "u2", GRANT).status_code == 201
    sender = FakeSender(500)
    counts = deliver_due(clock.now(), sender=sender)
    # u1's grant failed, so u1's withdrawal waits; u2 is not held up.
    assert sender.subjects == ["u1", "u2"]
    assert sender.types == ["consent.granted", "consent.granted"]
    assert counts == {"delivered": 1, "retrying": 1, "failed": 0, "waiting": 1}
    clock.advance(seconds=5)  # the grant is backing off: still nothing for u1
    deliver_due(clock.now(), sender=sender)
    assert len(sender.sent) == 2
    clock.advance(seconds=5)
    deliver_due(clock.now(), sender=sender)
    assert sender.subjects == ["u1", "u2", "u1", "u1"]
    assert sender.types[2:] == ["consent.granted", "consent.withdrawn"]
    assert [d.status for d in rows(db)] == ["delivered"] * 3


def test_a_failed_delivery_stops_holding_the_line(client, api, hook, people, db, clock):
    assert act(client, api, "u1", GRANT).status_code == 201
    clock.advance(hours=23)
    api.token = issue_token(client, api.client_id, api.client_secret)  # tokens live an hour
    assert act(client, api, "u1", WITHDRAW).status_code == 201
    sender = FakeSender(500, 500)
    deliver_due(clock.now(), sender=sender)
    assert sender.types == ["consent.granted"]
    clock.advance(hours=1, seconds=1)  # the grant's 24 hours are over
    assert deliver_due(clock.now(), sender=sender)["failed"] == 1
    deliver_due(clock.now(), sender=sender)  # the next run
    assert sender.types == ["consent.granted", "consent.granted", "consent.withdrawn"]
    assert [d.status for d in rows(db)] == ["failed", "delivered"]


@pytest.fixture
def public_hosts_only(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_HOSTS", False)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://127.0.0.1:9000/hook", 422),
        ("http://localhost/hook", 422),
        ("http://10.1.2.3/hook", 422),
        ("http://[::1]/hook", 422),
        ("https://hooks.shop.example/consent", 201),
    ],
)
def test_hosted_deployments_refuse_private_webhook_targets(client, api, db, public_hosts_only, url, status):
    """With WEBHOOK_ALLOW_PRIVATE_HOSTS off, the service never posts into its own network."""
    response = client.post("/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=api.headers)
    assert response.status_code == status, response.json
    if status == 422:
        assert "url" in response.json["errors"]
