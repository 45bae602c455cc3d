"""Webhook endpoints and the outbox (PIPL 15: a withdrawal reaches the company at once).

``emit()`` writes one delivery per subscribed endpoint in the caller's transaction, so a
change and its notification commit or roll back together; delivery happens after commit.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from consent_service import secrets_box
from consent_service.changes import note as note_change
from consent_service.database import insert_rows, stored_time
from consent_service.errors import InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.ids import uuid7
from consent_service.memo import remembered
from consent_service.organizations.models import Organization
from consent_service.webhooks import EVENT_TYPES, addresses
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint
from consent_service.webhooks.outcomes import describe

PENDING_FLAG = "webhooks_pending"


def _check_url(url: str) -> None:
    """Refuse a URL that is not absolute http(s), is too long, or whose host is, or resolves to,
    an address this deployment does not reach (``addresses``: private, loopback... unless
    allowed); the reasons go in ``InvalidInput`` under ``url``."""
    problems = []
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("must be an absolute http or https URL")
    else:
        config = current_app.config
        try:
            addresses.check_host(
                parts.hostname,
                port or addresses.DEFAULT_PORTS[parts.scheme],
                addresses.AddressPolicy.from_config(config),
                addresses.resolver_from_config(config),
            )
        except addresses.AddressError as exc:
            problems.append(exc.message)
    if len(url) > 2000:
        problems.append("must be at most 2000 characters")
    if problems:
        raise InvalidInput("invalid webhook", {"url": problems})


def create_endpoint(
    org: Organization, url: str, events: list[str], now: datetime
) -> tuple[WebhookEndpoint, str]:
    """Subscribe ``url`` to ``events``; return the endpoint and its signing secret (shown once)."""
    _check_url(url)
    unknown = sorted(set(events) - set(EVENT_TYPES) - {"*"})
    if not events or unknown:
        raise InvalidInput(
            "invalid webhook",
            {"events": [f"unknown: {', '.join(unknown)}" if unknown else "name at least one event"]},
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        public_id="wh_" + uuid.uuid4().hex[:24],
        org_id=org.id,
        url=url,
        events=sorted(set(events)),
        secret_encrypted=secrets_box.encrypt(secret),
        created_at=now,
    )
    db.session.add(endpoint)
    db.session.flush()
    note_change(f"webhook_endpoint:{endpoint.public_id}", None, {"events": endpoint.events})
    return endpoint, secret


def get_endpoint(org: Organization, public_id: str) -> WebhookEndpoint:
    """An active endpoint of ``org``; :class:`NotFound` for anything else."""
    endpoint = db.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.org_id == org.id,
            WebhookEndpoint.public_id == public_id,
            WebhookEndpoint.deleted_at.is_(None),
        )
    ).first()
    if endpoint is None:
        raise NotFound(f"no webhook {public_id!r}")
    return endpoint


def list_endpoints(org: Organization) -> list[WebhookEndpoint]:
    """The organization's active endpoints."""
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == org.id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
    )


def delete_endpoint(org: Organization, public_id: str, now: datetime) -> None:
    """Unsubscribe; deliveries not yet sent are given up."""
    endpoint = get_endpoint(org, public_id)
    endpoint.deleted_at = now
    note_change(f"webhook_endpoint:{endpoint.public_id}", {"deleted": False}, {"deleted": True})
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="failed", last_reason="endpoint_deleted", last_error=describe("endpoint_deleted"))
    )
    db.session.flush()


def emit(
    org: Organization,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    ordering_key: str | None = None,
    *,
    only: WebhookEndpoint | None = None,
) -> int:
    """Queue ``event_type`` for every endpoint of ``org`` that wants it (for ``only``, when
    the event is meant for one system); return how many."""
    return emit_many(org, [(event_type, data, ordering_key or org.slug)], now, only=only)


def subscribers(org: Organization, event_type: str | None = None) -> list[WebhookEndpoint]:
    """The organization's active endpoints that want ``event_type`` (all, without one)."""
    endpoints = remembered(("webhook_endpoints", org.id), lambda: list_endpoints(org))
    return endpoints if event_type is None else _wanting(endpoints, event_type)


def _delivery_id() -> str:
    """A delivery's public id: time-ordered, since there is one per event per endpoint."""
    return "whd_" + uuid7().replace("-", "")[:24]


def _wanting(endpoints: list[WebhookEndpoint], event_type: str) -> list[WebhookEndpoint]:
    return [e for e in endpoints if event_type in e.events or "*" in e.events]


DELIVERY_COLUMNS = (
    "public_id",
    "endpoint_id",
    "org_id",
    "event_id",
    "event_type",
    "ordering_key",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def emit_many(
    org: Organization,
    events: list[tuple[str, dict[str, Any], str]],
    now: datetime,
    *,
    only: WebhookEndpoint | None = None,
) -> int:
    """Queue ``(event type, data, ordering key)`` events, in order, for every endpoint of
    ``org`` that wants each (or for ``only``); return how many deliveries were queued."""
    subscribed = subscribers(org) if events else []
    if only is not None:
        subscribed = [e for e in subscribed if e.id == only.id]
    if not subscribed:
        return 0
    dialect = db.session.get_bind().dialect.name
    stamp = stored_time(dialect, now)
    created = now.isoformat()
    rows = []
    for event_type, data, ordering_key in events:
        assert event_type in EVENT_TYPES, event_type
        endpoints = _wanting(subscribed, event_type)
        if not endpoints:
            continue
        event_id = "evt_" + uuid.uuid4().hex
        payload = json.dumps(
            {
                "id": event_id,
                "type": event_type,
                "created_at": created,
                "organization": org.slug,
                "data": data,
            },
            ensure_ascii=False,
        )
        rows += [
            (
                _delivery_id(),
                endpoint.id,
                org.id,
                event_id,
                event_type,
                ordering_key,
                payload,
                "pending",
                0,
                stamp,
                stamp,
            )
            for endpoint in endpoints
        ]
    if rows:
        insert_rows(db.session, WebhookDelivery.__tablename__, DELIVERY_COLUMNS, rows)
        db.session.info[PENDING_FLAG] = True
    return len(rows)


def list_deliveries(
    org: Organization,
    public_id: str,
    *,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first, ``before`` a delivery id for the next page."""
    endpoint = get_endpoint(org, public_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if before:
        query = query.where(WebhookDelivery.id < before)
    return list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def redeliver(org: Organization, public_id: str, delivery_id: str, now: datetime) -> WebhookDelivery:
    """Queue a delivered or failed delivery again (same event id, fresh attempts)."""
    endpoint = get_endpoint(org, public_id)
    original = db.session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.public_id == delivery_id
        )
    ).first()
    if original is None:
        raise NotFound(f"no delivery {delivery_id!r}")
    copy = WebhookDelivery(
        public_id=_delivery_id(),
        endpoint_id=endpoint.id,
        org_id=org.id,
        event_id=original.event_id,
        event_type=original.event_type,
        ordering_key=original.ordering_key,
        payload=original.payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(copy)
    db.session.flush()
    db.session.info[PENDING_FLAG] = True
    note_change(f"webhook_delivery:{copy.public_id}", None, {"status": "pending", "of": original.public_id})
    return copy
