"""The registry of the organization's data systems: what each holds and how it hears of a task.

A request is carried out where the information is (GB/T 35273 8.1-8.5): each system that holds
the person's information gets a task. A system is reached by a webhook
(``rights.task.opened``, sent to its own endpoint only, signed with its own secret) or by hand
(``manual``: an officer answers its tasks through the API or the console).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from consent_service.changes import note as note_change
from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.organizations.service import categories_by_code
from consent_service.rights.models import DataSystem, RightsTask
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookEndpoint

TASK_EVENT = "rights.task.opened"


def _check(org: Organization, name: object, owner: object, categories: object) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = ["must be text of 1-200 characters"]
    elif db.session.scalar(
        select(func.count())
        .select_from(DataSystem)
        .where(DataSystem.org_id == org.id, DataSystem.name == name.strip(), DataSystem.retired_at.is_(None))
    ):
        errors["name"] = ["another data system has this name"]
    if not isinstance(owner, str) or not owner.strip() or len(owner) > 200:
        errors["owner"] = ["must be text of 1-200 characters (who answers for the system)"]
    if not isinstance(categories, list) or not categories or not all(isinstance(c, str) for c in categories):
        errors["categories"] = ["name the PI categories the system holds (GB/T 35273 Annex A codes)"]
    if errors:
        raise InvalidInput("invalid data system", errors)
    try:
        categories_by_code(sorted(set(categories)))
    except InvalidInput as exc:
        raise InvalidInput("invalid data system", {"categories": exc.details["pi_categories"]}) from None


def register(
    org: Organization,
    *,
    name: str,
    owner: str,
    categories: list[str],
    now: datetime,
    webhook_url: str | None = None,
) -> tuple[DataSystem, str | None]:
    """Register a system; with ``webhook_url`` it gets its own endpoint for its tasks, whose
    signing secret is returned (shown once), otherwise its tasks are answered by hand."""
    _check(org, name, owner, categories)
    endpoint, secret = None, None
    if webhook_url is not None:
        endpoint, secret = webhooks.create_endpoint(org, webhook_url, [TASK_EVENT], now)
    system = DataSystem(
        public_id="sys_" + uuid.uuid4().hex[:24],
        org_id=org.id,
        name=name.strip(),
        owner=owner.strip(),
        categories=sorted(set(categories)),
        delivery="manual" if endpoint is None else "webhook",
        webhook_endpoint_id=None if endpoint is None else endpoint.id,
        created_at=now,
    )
    db.session.add(system)
    db.session.flush()
    note_change(
        f"data_system:{system.public_id}",
        None,
        {"delivery": system.delivery, "categories": system.categories},
    )
    return system, secret


def active(org: Organization) -> list[DataSystem]:
    """The organization's systems in service, by name."""
    return list(
        db.session.scalars(
            select(DataSystem)
            .where(DataSystem.org_id == org.id, DataSystem.retired_at.is_(None))
            .order_by(DataSystem.name, DataSystem.id)
        )
    )


def holding(org: Organization, categories: list[str] | None = None) -> list[DataSystem]:
    """The systems in service that hold any of ``categories`` (all of them, without)."""
    systems = active(org)
    if not categories:
        return systems
    wanted = set(categories)
    return [s for s in systems if wanted & set(s.categories)]


def get(org: Organization, public_id: str) -> DataSystem:
    """A system of ``org`` in service; :class:`NotFound` otherwise."""
    system = db.session.scalars(
        select(DataSystem).where(
            DataSystem.org_id == org.id, DataSystem.public_id == public_id, DataSystem.retired_at.is_(None)
        )
    ).first()
    if system is None:
        raise NotFound(f"no data system {public_id!r}")
    return system


def endpoint_of(system: DataSystem) -> WebhookEndpoint | None:
    """The system's own webhook endpoint (``None`` for a manual system)."""
    if system.webhook_endpoint_id is None:
        return None
    return db.session.get(WebhookEndpoint, system.webhook_endpoint_id)


def retire(org: Organization, public_id: str, now: datetime) -> None:
    """Take a system out of service (its endpoint is deleted); refused while it has open tasks,
    which would otherwise never be answered."""
    system = get(org, public_id)
    open_tasks = db.session.scalar(
        select(func.count())
        .select_from(RightsTask)
        .where(RightsTask.system_id == system.id, RightsTask.status == "open")
    )
    if open_tasks:
        raise Conflict(
            f"the system has {open_tasks} open tasks: answer them before retiring it",
            {"open_tasks": open_tasks},
        )
    if system.webhook_endpoint_id is not None:
        endpoint = endpoint_of(system)
        if endpoint is not None and endpoint.deleted_at is None:
            webhooks.delete_endpoint(org, endpoint.public_id, now)
    system.retired_at = now
    db.session.flush()
    note_change(f"data_system:{system.public_id}", {"retired": False}, {"retired": True})
