"""What the console's administration pages show, as plain data: the data systems, the API
clients, the webhook endpoints with their deliveries, and the staff. Reads only; secrets are
never read back (a client's and an endpoint's are shown once, by the page that made them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from consent_service.extensions import db
from consent_service.i18n import local_datetime
from consent_service.oauth import service as oauth
from consent_service.oauth.scopes import SCOPE_DESCRIPTIONS
from consent_service.organizations.models import Organization, PICategory
from consent_service.rights import systems
from consent_service.staff import accounts, management
from consent_service.staff.roles import ROLES
from consent_service.webhooks import EVENT_TYPES
from consent_service.webhooks import service as webhooks


def _when(value: datetime | None, org: Organization, lang: str) -> str | None:
    return local_datetime(value, org.timezone, lang) if value is not None else None


def url_host(url: str) -> str | None:
    """The host of an endpoint's address (what the audit trail keeps of it)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def categories(lang: str) -> list[dict[str, str]]:
    """The GB/T 35273 PI categories a system can hold, by code."""
    rows = db.session.scalars(select(PICategory).order_by(PICategory.code)).all()
    return [{"code": c.code, "name": c.name_zh if lang == "zh" else c.name_en} for c in rows]


def data_systems(org: Organization, lang: str) -> list[dict[str, Any]]:
    """The systems in service, by name."""
    rows = []
    for system in systems.active(org):
        endpoint = systems.endpoint_of(system)
        rows.append(
            {
                "id": system.public_id,
                "name": system.name,
                "owner": system.owner,
                "categories": list(system.categories),
                "delivery": system.delivery,
                "webhook": endpoint.public_id if endpoint is not None else None,
                "webhook_host": url_host(endpoint.url) if endpoint is not None else None,
                "created": _when(system.created_at, org, lang),
            }
        )
    return rows


def scopes() -> list[tuple[str, str]]:
    """Every scope a client may hold, with what it allows."""
    return list(SCOPE_DESCRIPTIONS.items())


def clients(org: Organization, lang: str) -> list[dict[str, Any]]:
    """The organization's API clients, oldest first, revoked ones included."""
    return [
        {
            "client_id": c.client_id,
            "name": c.name,
            "scopes": c.scope.split(),
            "created": _when(c.created_at, org, lang),
            "rotated": _when(c.secret_rotated_at, org, lang),
            "revoked": _when(c.revoked_at, org, lang),
        }
        for c in oauth.list_clients(org)
    ]


def event_types() -> list[str]:
    """The events an endpoint can subscribe to; ``*`` is all of them."""
    return ["*", *EVENT_TYPES]


def endpoints(org: Organization, lang: str) -> list[dict[str, Any]]:
    """The organization's active webhook endpoints."""
    return [
        {
            "id": e.public_id,
            "url": e.url,
            "events": list(e.events),
            "created": _when(e.created_at, org, lang),
        }
        for e in webhooks.list_endpoints(org)
    ]


def endpoint_page(org: Organization, public_id: str, lang: str, limit: int = 50) -> dict[str, Any]:
    """One endpoint and its latest deliveries, newest first (:class:`NotFound` if not ``org``'s)."""
    endpoint = webhooks.get_endpoint(org, public_id)
    deliveries = webhooks.list_deliveries(org, public_id, limit=limit)
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "created": _when(endpoint.created_at, org, lang),
        "deliveries": [
            {
                "id": d.public_id,
                "event_type": d.event_type,
                "event_id": d.event_id,
                "status": d.status,
                "attempts": d.attempts,
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "created": _when(d.created_at, org, lang),
                "last_attempt": _when(d.last_attempt_at, org, lang),
                "next_attempt": _when(d.next_attempt_at, org, lang) if d.status == "pending" else None,
                "delivered": _when(d.delivered_at, org, lang),
            }
            for d in deliveries
        ],
    }


def role_names(lang: str) -> list[tuple[str, str]]:
    """Each role's code and name."""
    return [(code, r.name_zh if lang == "zh" else r.name_en) for code, r in ROLES.items()]


def staff(org: Organization, now: datetime, lang: str) -> list[dict[str, Any]]:
    """The organization's staff by name, with what an administrator acts on."""
    names = dict(role_names(lang))
    return [
        {
            "id": m.id,
            "name": m.name,
            "email": m.email,
            "role": m.role,
            "role_name": names.get(m.role, m.role),
            "totp": m.totp_enabled_at is not None,
            "enrolled": m.password_hash is not None,
            "locked_until": _when(m.locked_until, org, lang) if accounts.is_locked(m, now) else None,
            "last_sign_in": _when(m.last_sign_in_at, org, lang),
            "disabled": _when(m.disabled_at, org, lang),
        }
        for m in management.members(org)
    ]
