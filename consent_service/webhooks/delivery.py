"""Sending webhooks: signatures, retries, ordering, and the after-commit dispatcher.

Signature: ``X-Consent-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
The POST goes to the addresses checked for it (``transport``, ``addresses``), and what became
of it is recorded in fixed words (``outcomes``). A failed delivery is retried with exponential
backoff (10 s, 20 s, 40 s, ...) until 24 hours after it was written, then marked failed.
Deliveries with the same ordering key (the person) reach an endpoint in the order they were
written: a later one waits while an earlier one is pending.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from consent_service import secrets_box
from consent_service.clock import utcnow
from consent_service.database import skipping_locked
from consent_service.extensions import db
from consent_service.unit_of_work import unit_of_work
from consent_service.webhooks.models import WebhookDelivery
from consent_service.webhooks.outcomes import Outcome
from consent_service.webhooks.service import PENDING_FLAG
from consent_service.webhooks.transport import sender_from_config

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Consent-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: check the HMAC and that the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class Sender(Protocol):
    """Sends one HTTP POST and says what became of it (``outcomes.Outcome``, fixed words)."""

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome: ...


def _backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: doubling from the first delay, at most 6 h."""
    first = current_app.config["WEBHOOK_FIRST_RETRY_SECONDS"]
    return timedelta(seconds=min(first * 2 ** (attempts - 1), 6 * 3600))


def deliver(delivery: WebhookDelivery, now: datetime, sender: Sender | None = None) -> bool:
    """Send one delivery and record the outcome; ``True`` when it was accepted (2xx).

    What is recorded is the status code, the reason in fixed words and its fixed description,
    never the error's text (it would map the service's network for whoever reads deliveries):
    that goes to the log, with the delivery's id and no personal data.
    """
    sender = sender or sender_from_config(current_app.config)
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    secret = secrets_box.decrypt(delivery.endpoint.secret_encrypted)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "consent_service-webhooks/1",
        SIGNATURE_HEADER: sign(secret, int(now.timestamp()), body),
        "X-Consent-Event": delivery.event_type,
        "X-Consent-Delivery": delivery.public_id,
    }
    outcome = sender(delivery.endpoint.url, body, headers, current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_reason = outcome.reason
    delivery.last_error = outcome.description
    if outcome.accepted:
        delivery.status = "delivered"
        delivery.delivered_at = now
        return True
    log.warning(
        "webhook delivery %s to endpoint %s failed: %s%s",
        delivery.public_id,
        delivery.endpoint.public_id,
        outcome.description,
        f" ({outcome.detail})" if outcome.detail else "",
    )
    retry_until = delivery.created_at + timedelta(hours=current_app.config["WEBHOOK_RETRY_HOURS"])
    next_at = now + _backoff(delivery.attempts)
    if next_at > retry_until:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = next_at
    return False


def deliver_due(now: datetime, sender: Sender | None = None, limit: int = 200) -> dict[str, int]:
    """Send every due delivery, oldest first, keeping per-person order, and record each
    outcome (the caller's unit of work commits them).

    On PostgreSQL rows are taken with ``FOR UPDATE SKIP LOCKED`` so that several processes
    share the work without sending anything twice.
    """
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "waiting": 0}
    sender = sender or sender_from_config(current_app.config)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    query = skipping_locked(db.session, query)
    blocked: set[tuple[int, str]] = set()
    for delivery in db.session.scalars(query).all():
        key = (delivery.endpoint_id, delivery.ordering_key)
        if key in blocked or delivery.next_attempt_at > now:
            blocked.add(key)
            counts["waiting"] += 1
            continue
        if deliver(delivery, now, sender):
            counts["delivered"] += 1
        else:
            blocked.add(key)
            counts["failed" if delivery.status == "failed" else "retrying"] += 1
    db.session.flush()
    return counts


class Dispatcher:
    """A background thread per process that sends deliveries right after a commit wrote them
    (so a withdrawal leaves within seconds), and polls every few seconds as a safety net."""

    def __init__(self, app: Flask, poll_seconds: float = 2.0) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self.wakeup = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def wake(self) -> None:
        """Ask for a delivery run now (called after a commit that queued deliveries)."""
        if self.stopping.is_set():
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
                self.thread.start()
        self.wakeup.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening for commits and end the thread after the run in progress."""
        if event.contains(Session, "after_commit", self.after_commit):
            event.remove(Session, "after_commit", self.after_commit)
        self.stopping.set()
        self.wakeup.set()
        with self.lock:
            thread = self.thread
        if thread is not None:
            thread.join(timeout)

    def after_commit(self, session: Session) -> None:
        """Session listener: wake up when a commit of this application queued deliveries (the
        listener hears every session in the process, and several applications may share one)."""
        if not has_app_context() or current_app._get_current_object() is not self.app:  # type: ignore[attr-defined]
            return
        if session.info.pop(PENDING_FLAG, False):
            self.wake()

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.wakeup.wait(self.poll_seconds)
            self.wakeup.clear()
            if self.stopping.is_set():
                return
            try:
                with self.app.app_context(), unit_of_work():
                    deliver_due(utcnow())
            except Exception:
                log.exception("webhook dispatch failed")


def init_app(app: Flask) -> None:
    """Wake the dispatcher after any commit that queued deliveries."""
    if app.config["WEBHOOK_DISPATCH"] != "thread":
        return
    dispatcher = Dispatcher(app)
    app.extensions["webhook_dispatcher"] = dispatcher
    event.listen(Session, "after_commit", dispatcher.after_commit)
