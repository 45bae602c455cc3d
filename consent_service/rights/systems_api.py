"""The data-systems registry and the tasks of rights requests over the API (GB/T 35273 8):
the systems that hold personal information, and their answers."""

from __future__ import annotations

from consent_service.api.registry import Reply, operation
from consent_service.clock import utcnow
from consent_service.oauth.guard import authenticate
from consent_service.organizations.models import Organization
from consent_service.rights import fulfilment, systems, tasks
from consent_service.rights.models import DataSystem
from consent_service.rights.schemas import (
    DataSystemCreatedOut,
    DataSystemIn,
    DataSystemListOut,
    DataSystemOut,
    TaskListOut,
    TaskOut,
    TaskQuery,
    TaskResultIn,
)
from consent_service.rights.timeline import Actor


def _system(system: DataSystem, secret: str | None = None) -> dict:
    endpoint = systems.endpoint_of(system)
    data = {
        "id": system.public_id,
        "name": system.name,
        "owner": system.owner,
        "categories": system.categories,
        "delivery": system.delivery,
        "webhook": None if endpoint is None else endpoint.public_id,
        "created_at": system.created_at,
    }
    if secret is not None:
        data["secret"] = secret
    return data


@operation(
    "/data-systems",
    "POST",
    scope="systems:manage",
    tag="Data systems",
    body=DataSystemIn(),
    response=DataSystemCreatedOut(),
    status=201,
    clause="GB/T 35273 8",
    summary="Register a data system",
)
def register_data_system(org: Organization, body: dict):
    """A system that holds personal information, with the PI categories it holds. With
    ``webhook_url`` its tasks are sent there as ``rights.task.opened``, signed with the
    ``secret`` of this answer (shown once); without one they are answered by hand."""
    system, secret = systems.register(
        org,
        name=body["name"],
        owner=body["owner"],
        categories=body["categories"],
        webhook_url=body["webhook_url"],
        now=utcnow(),
    )
    return _system(system, secret)


@operation(
    "/data-systems", scope="systems:manage", tag="Data systems", response=DataSystemListOut(),
    summary="List data systems",
)  # fmt: skip
def list_data_systems(org: Organization):
    """The systems in service, by name."""
    return {"systems": [_system(s) for s in systems.active(org)]}


@operation(
    "/data-systems/<system_id>", scope="systems:manage", tag="Data systems", response=DataSystemOut(),
    summary="Get a data system",
)  # fmt: skip
def get_data_system(org: Organization, system_id: str):
    """One system of the registry."""
    return _system(systems.get(org, system_id))


@operation(
    "/data-systems/<system_id>",
    "DELETE",
    scope="systems:manage",
    tag="Data systems",
    status=204,
    errors=(409,),
    summary="Retire a data system",
)
def retire_data_system(org: Organization, system_id: str):
    """Take a system out of service (its webhook endpoint is deleted); refused (409) while it
    has open tasks."""
    systems.retire(org, system_id, utcnow())
    return Reply(None, 204)


@operation(
    "/rights-tasks",
    scope="rights:read",
    tag="Rights tasks",
    query=TaskQuery(),
    response=TaskListOut(),
    summary="List rights tasks",
)
def list_rights_tasks(org: Organization, query: dict):
    """Tasks, oldest first, filtered by status, system or request; pass ``next_cursor`` as
    ``cursor`` for the next page."""
    rows, cursor = tasks.list_tasks(
        org,
        status=query.get("status"),
        system=query.get("system"),
        request=query.get("request"),
        cursor=int(query["cursor"]) if "cursor" in query else None,
        limit=query["limit"],
    )
    return {"tasks": [tasks.describe_task(t) for t in rows], "next_cursor": cursor}


@operation(
    "/rights-tasks/<task_id>", scope="rights:read", tag="Rights tasks", response=TaskOut(),
    summary="Get a rights task",
)  # fmt: skip
def get_rights_task(org: Organization, task_id: str):
    """What the system must do, with what the request asks (a correction's values), and its
    answer once given."""
    return tasks.describe_task(tasks.get_task(org, task_id), full=True)


@operation(
    "/rights-tasks/<task_id>/result",
    "POST",
    scope="rights:write",
    tag="Rights tasks",
    body=TaskResultIn(),
    response=TaskOut(),
    errors=(409,),
    clause="GB/T 35273 8.1-8.5",
    summary="Answer a rights task",
)
def answer_rights_task(org: Organization, task_id: str, body: dict):
    """``done`` with the person's data (access) or with ``carried_out_at`` (deletion,
    correction, restriction), or ``no_data``. The last answer completes the request; a task
    answered already is a 409."""
    task = fulfilment.report(
        org,
        task_id,
        utcnow(),
        Actor("client", authenticate().client_id),
        outcome=body["outcome"],
        data=body["data"],
        carried_out_at=body["carried_out_at"],
        note=body["note"],
    )
    return tasks.describe_task(task, full=True)
