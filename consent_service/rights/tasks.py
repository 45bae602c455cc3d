"""Reading the tasks of data systems: one by its id, the organization's list, what a task asks
and what its system returned (decrypted for the API, never logged)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from consent_service import secrets_box
from consent_service.consent.models import Subject
from consent_service.errors import NotFound
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.rights.corrections import corrections_of
from consent_service.rights.models import DataSystem, RightsRequest, RightsTask
from consent_service.rights.replies import details_of

#: The label of the encryption of a task's answer.
RESULT = b"consent-rights-task-result"


def get_task(org: Organization, public_id: str) -> RightsTask:
    """A task of ``org``; :class:`NotFound` otherwise."""
    task = db.session.scalars(
        select(RightsTask).where(RightsTask.org_id == org.id, RightsTask.public_id == public_id)
    ).first()
    if task is None:
        raise NotFound(f"no rights task {public_id!r}")
    return task


def list_tasks(
    org: Organization,
    *,
    status: str | None = None,
    system: str | None = None,
    request: str | None = None,
    cursor: int | None = None,
    limit: int = 50,
) -> tuple[list[RightsTask], str | None]:
    """The organization's tasks, oldest first, filtered; with a cursor for the next page."""
    query = select(RightsTask).where(RightsTask.org_id == org.id)
    if status is not None:
        query = query.where(RightsTask.status == status)
    if system is not None:
        query = query.join(DataSystem, DataSystem.id == RightsTask.system_id).where(
            DataSystem.public_id == system
        )
    if request is not None:
        query = query.join(RightsRequest, RightsRequest.id == RightsTask.request_id).where(
            RightsRequest.public_id == request
        )
    if cursor is not None:
        query = query.where(RightsTask.id > cursor)
    rows = list(db.session.scalars(query.order_by(RightsTask.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more else None)


def tasks_of(request: RightsRequest) -> list[RightsTask]:
    """The request's tasks, in the order they were opened."""
    return list(
        db.session.scalars(
            select(RightsTask).where(RightsTask.request_id == request.id).order_by(RightsTask.id)
        )
    )


def result_of(task: RightsTask) -> Any:
    """The data a system returned for an access task, decrypted (``None`` for none)."""
    if not task.result_encrypted:
        return None
    return json.loads(secrets_box.decrypt(task.result_encrypted, RESULT))


def what_is_asked(task: RightsTask) -> dict[str, Any]:
    """What the system must do, with what the request says (for the system's eyes only)."""
    request = db.session.get(RightsRequest, task.request_id) if task.request_id else None
    return {
        "details": details_of(request) if request is not None else None,
        "corrections": corrections_of(request) if request is not None else {},
    }


def describe_task(task: RightsTask, *, full: bool = False) -> dict[str, Any]:
    """A task as the API shows it; ``full`` adds what is asked and the data returned."""
    system = db.session.get(DataSystem, task.system_id)
    request = db.session.get(RightsRequest, task.request_id) if task.request_id else None
    data: dict[str, Any] = {
        "id": task.public_id,
        "system": system.public_id,
        "system_name": system.name,
        "request": None if request is None else request.public_id,
        "subject": db.session.get(Subject, task.subject_id).external_id,
        "action": task.action,
        "categories": task.categories,
        "status": task.status,
        "opened_at": task.opened_at,
        "answered_at": task.answered_at,
        "carried_out_at": task.carried_out_at,
        "answered_by": task.answered_by,
        "note": task.note,
    }
    if full:
        data["asked"] = what_is_asked(task)
        data["result"] = result_of(task)
    return data
