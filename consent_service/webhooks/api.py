"""Webhook subscriptions and their deliveries over the API (PIPL 15: withdrawals pushed)."""

from __future__ import annotations

from consent_service.api.registry import Reply, operation
from consent_service.clock import utcnow
from consent_service.organizations.models import Organization
from consent_service.webhooks import service
from consent_service.webhooks.schemas import (
    DeliveryListOut,
    DeliveryOut,
    DeliveryQuery,
    WebhookCreatedOut,
    WebhookCreateSchema,
    WebhookListOut,
)


@operation(
    "/webhooks",
    "POST",
    scope="webhooks:manage",
    tag="Webhooks",
    body=WebhookCreateSchema(),
    response=WebhookCreatedOut(),
    status=201,
    clause="PIPL 15",
    summary="Subscribe to events",
)
def create_webhook(org: Organization, body: dict):
    """Subscribe a URL to event types (``*`` for all). The signing secret is in this answer only:
    verify each delivery's ``X-Consent-Signature`` with it. A URL whose host is, or resolves to,
    an address this service does not reach (loopback, private...) is refused (422, ``url``)."""
    endpoint, secret = service.create_endpoint(org, body["url"], body["events"], utcnow())
    return {
        "public_id": endpoint.public_id,
        "url": endpoint.url,
        "events": endpoint.events,
        "created_at": endpoint.created_at,
        "secret": secret,
    }


@operation(
    "/webhooks", scope="webhooks:manage", tag="Webhooks", response=WebhookListOut(), summary="List webhooks"
)
def list_webhooks(org: Organization):
    """The organization's subscriptions (secrets are never shown again)."""
    return {"webhooks": service.list_endpoints(org)}


@operation(
    "/webhooks/<webhook_id>",
    "DELETE",
    scope="webhooks:manage",
    tag="Webhooks",
    status=204,
    summary="Delete a webhook",
)
def delete_webhook(org: Organization, webhook_id: str):
    """Unsubscribe; deliveries not yet sent are given up."""
    service.delete_endpoint(org, webhook_id, utcnow())
    return Reply(None, 204)


@operation(
    "/webhooks/<webhook_id>/deliveries",
    scope="webhooks:manage",
    tag="Webhooks",
    query=DeliveryQuery(),
    response=DeliveryListOut(),
    summary="List deliveries",
)
def list_deliveries(org: Organization, webhook_id: str, query: dict):
    """Deliveries to one webhook, newest first, with attempts and the last answer: its status
    code and class, or why there was none, in fixed words (``last_reason``)."""
    limit = query["limit"]
    rows = service.list_deliveries(
        org,
        webhook_id,
        status=query.get("status"),
        before=int(query["cursor"]) if "cursor" in query else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {"deliveries": rows, "next_cursor": str(rows[-1].id) if more else None}


@operation(
    "/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver",
    "POST",
    scope="webhooks:manage",
    tag="Webhooks",
    response=DeliveryOut(),
    status=202,
    summary="Redeliver",
)
def redeliver(org: Organization, webhook_id: str, delivery_id: str):
    """Send a delivery again, with the same event id, as a new delivery."""
    return service.redeliver(org, webhook_id, delivery_id, utcnow())
