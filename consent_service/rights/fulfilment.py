"""Carrying a request out: where the information is, and here.

When the clock starts (the requester verified) the request is begun:

- a withdrawal of all consents is recorded at once through the ledger (PIPL 15, GB/T 8.4), and
  the request completes;
- a correction updates what this service holds of the person (PIPL 46, GB/T 8.2);
- a deletion or an account cancellation is announced to the company's subscribers
  (``subject.deleted``, PIPL 47 ¶1: the handler deletes; GB/T 8.5);
- access, copy, transfer, correction, deletion, cancellation and restriction open a task for
  every data system that holds the person's information (:mod:`.systems`); the request waits
  for the systems (``awaiting_systems``) and completes when the last one answers.

Explanations and complaints are answered by an officer. Everything here flushes; the caller's
unit of work commits.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from consent_service import secrets_box
from consent_service.consent import erasure
from consent_service.consent import service as ledger
from consent_service.consent.models import ConsentState, Subject
from consent_service.consent.writer import Actor as ActActor
from consent_service.errors import Conflict, InvalidInput
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose
from consent_service.rights import actions, holdings, messages, package, packages, systems, tasks
from consent_service.rights.corrections import corrections_of
from consent_service.rights.models import DataSystem, IdentityCode, RightsRequest, RightsTask
from consent_service.rights.queries import get_request
from consent_service.rights.replies import contact
from consent_service.rights.tasks import get_task, result_of, tasks_of
from consent_service.rights.timeline import SYSTEM, Actor, step
from consent_service.rights.workflow import next_status
from consent_service.webhooks.service import emit

#: What a request of each type asks of the systems that hold the person's information.
TASK_ACTIONS = {
    "access": "access",
    "copy": "access",
    "portability": "access",
    "correction": "correction",
    "deletion": "deletion",
    "cancellation": "deletion",
    "restriction": "restriction",
}
#: Requests answered with a package of the person's information (PIPL 45, GB/T 8.1, 8.6).
PACKAGED = ("access", "copy", "portability")
#: Requests carried out by erasing the person here once the systems have deleted.
ERASING = ("deletion", "cancellation")
#: How a request's channel is recorded as the method of the consent act it leads to (an email
#: is a written request).
_ACT_METHOD = {"api": "api", "dashboard": "web", "paper": "paper", "phone": "phone", "email": "paper"}
#: How far ahead of now a system may say it carried a task out (clocks differ a little).
_SKEW = timedelta(minutes=5)


class TaskAnswered(Conflict):
    """The task was answered already (or cancelled with its request)."""

    code = "task_answered"


# --- beginning --------------------------------------------------------------------------------


def begin(org: Organization, request: RightsRequest, now: datetime, actor: Actor) -> None:
    """Start carrying out a request whose clock has just started (see the module)."""
    if request.status != "in_progress":
        return
    subject = db.session.get(Subject, request.subject_id)
    if request.type == "withdrawal":
        withdrawn = withdraw_all(org, request, subject, now, actor)
        note = f"{len(withdrawn)} consents withdrawn: {', '.join(withdrawn)}" if withdrawn else None
        actions.complete(org, request.public_id, now, SYSTEM, note or "no consent was in force")
        return
    if request.type == "correction" and request.corrections_encrypted:
        _correct_here(request, subject, now, actor)
    if request.type in ("deletion", "cancellation"):
        emit(
            org,
            "subject.deleted",
            {"subject": subject.external_id, "request": request.public_id, "type": request.type},
            now,
            ordering_key=subject.external_id,
        )
    action = TASK_ACTIONS.get(request.type)
    if action is not None:
        open_tasks(org, request, subject, action, now, actor)


def withdraw_all(
    org: Organization, request: RightsRequest, subject: Subject, now: datetime, actor: Actor
) -> list[str]:
    """Withdraw every consent in force, as one act through the ledger (its webhooks and state
    as for any withdrawal); return the purposes withdrawn."""
    codes = list(
        db.session.scalars(
            select(Purpose.code)
            .join(ConsentState, ConsentState.purpose_id == Purpose.id)
            .where(ConsentState.subject_id == subject.id, ConsentState.status == "granted")
            .order_by(Purpose.code)
        )
    )
    if not codes:
        return []
    ledger.record_act(
        org,
        subject,
        now,
        purposes=codes,
        action="withdraw",
        method=_ACT_METHOD[request.channel],
        actor=ActActor(
            kind="officer",
            name=(actor.name or actor.kind)[:200],
            reason=f"rights request {request.public_id}: withdrawal of all consents (PIPL 15)",
        ),
        evidence={"document_ref": request.public_id},
        is_subject_initiated=True,
    )
    step(request, "withdraw_consents", actor, f"withdrawn through the ledger: {', '.join(codes)}", now)
    return codes


def _correct_here(request: RightsRequest, subject: Subject, now: datetime, actor: Actor) -> None:
    corrections = corrections_of(request)
    for name, value in corrections.items():
        setattr(subject, name, value)
    subject.updated_at = now
    step(request, "correct_here", actor, f"corrected in this service: {', '.join(sorted(corrections))}", now)


def open_tasks(
    org: Organization,
    request: RightsRequest | None,
    subject: Subject,
    action: str,
    now: datetime,
    actor: Actor,
    *,
    categories: list[str] | None = None,
    purpose_id: int | None = None,
    retention_key: str | None = None,
) -> list[RightsTask]:
    """A task for every system that holds ``categories`` (all systems, without), announced to
    the systems reached by webhook; the request, if any, then waits for them."""
    opened = []
    for system in systems.holding(org, categories):
        task = RightsTask(
            public_id="rt_" + uuid.uuid4().hex[:24],
            org_id=org.id,
            request_id=None if request is None else request.id,
            subject_id=subject.id,
            system_id=system.id,
            action=action,
            categories=sorted(set(categories or [])),
            status="open",
            opened_at=now,
            purpose_id=purpose_id,
            retention_key=retention_key,
        )
        db.session.add(task)
        opened.append((task, system))
    db.session.flush()
    for task, system in opened:
        endpoint = systems.endpoint_of(system)
        if endpoint is not None:
            emit(org, systems.TASK_EVENT, task_event(task, system, request, subject), now,
                 ordering_key=subject.external_id, only=endpoint)  # fmt: skip
    if request is not None:
        if opened:
            names = ", ".join(system.name for _, system in opened)
            step(request, "await_systems", actor, f"{action} tasks opened for: {names}", now)
        else:
            step(
                request, "no_systems", actor, "no registered data system holds this person's information", now
            )
    return [task for task, _ in opened]


def task_event(
    task: RightsTask, system: DataSystem, request: RightsRequest | None, subject: Subject
) -> dict[str, Any]:
    """What the ``rights.task.opened`` webhook says: identifiers and the action only; a system
    reads what a task asks (a correction's values) from ``GET /rights-tasks/{id}`` with its
    token, so that no personal information waits in the webhook outbox."""
    return {
        "task": task.public_id,
        "system": system.public_id,
        "action": task.action,
        "subject": subject.external_id,
        "request": None if request is None else request.public_id,
        "due_at": None if request is None or request.due_at is None else request.due_at.isoformat(),
        "categories": task.categories,
    }


# --- answers ----------------------------------------------------------------------------------


def report(
    org: Organization,
    public_id: str,
    now: datetime,
    actor: Actor,
    *,
    outcome: str,
    data: Any = None,
    carried_out_at: datetime | None = None,
    note: str | None = None,
) -> RightsTask:
    """A system's answer: ``done`` (with the data, for access; with when it was carried out,
    for deletion and correction) or ``no_data`` (it holds nothing of the person). The last
    answer of a request completes it."""
    task = get_task(org, public_id)
    if task.request_id is not None:
        # Answers to one request's tasks take turns: the last of two at once must see the
        # other's (to complete the request), and the timeline numbers its steps from the row.
        db.session.get(RightsRequest, task.request_id, with_for_update=True, populate_existing=True)
        db.session.refresh(task)  # an answer to this very task may have come first
    if task.status != "open":
        raise TaskAnswered(f"the task is {task.status} already", {"status": task.status})
    errors: dict[str, list[str]] = {}
    if outcome not in ("done", "no_data"):
        errors["outcome"] = ["must be done or no_data"]
    if outcome == "done" and task.action == "access" and data is None:
        errors["data"] = ["an access task is answered with the person's data (JSON)"]
    if outcome == "done" and task.action in ("deletion", "correction", "restriction"):
        if carried_out_at is None:
            errors["carried_out_at"] = [f"say when the {task.action} was carried out"]
        elif carried_out_at > now + _SKEW:
            errors["carried_out_at"] = ["must not be in the future"]
    if data is not None and task.action != "access":
        errors["data"] = ["only an access task returns data"]
    if note is not None and (not isinstance(note, str) or len(note) > 5000):
        errors["note"] = ["must be text of at most 5000 characters"]
    if errors:
        raise InvalidInput("invalid task result", errors)
    task.status = outcome
    task.answered_at = now
    task.carried_out_at = carried_out_at
    task.answered_by = actor.name
    task.note = note
    if data is not None:
        task.result_encrypted = secrets_box.encrypt(json.dumps(data, ensure_ascii=False), tasks.RESULT)
    db.session.flush()
    if task.request_id is not None:
        _answered(org, task, now, actor)
    return task


def _answered(org: Organization, task: RightsTask, now: datetime, actor: Actor) -> None:
    request = db.session.get(RightsRequest, task.request_id)
    system = db.session.get(DataSystem, task.system_id)
    step(request, "task_answered", actor, f"{system.name}: {task.status}", now)
    if request.status == "awaiting_systems" and actions.open_tasks(request) == 0:
        step(request, "systems_done", SYSTEM, "every data system answered", now)
        finish(org, request.public_id, now, SYSTEM)


def finish(
    org: Organization, public_id: str, now: datetime, actor: Actor, note: str | None = None
) -> RightsRequest:
    """Complete a request once every system has answered (or by an officer when none holds
    the person's information)."""
    request = get_request(org, public_id)
    next_status("complete", request.status)
    actions.no_open_tasks(request)  # both checked before a package is built
    reply, to = None, None
    if request.type in PACKAGED:
        reply = _package(org, request, now, actor)
    elif request.type in ERASING:
        to = contact(request, db.session.get(Subject, request.subject_id))  # read before it goes
        reply = _erase_here(org, request, now, actor)
    return actions.complete(org, request.public_id, now, actor, note, reply=reply, to=to)


def _erase_here(org: Organization, request: RightsRequest, now: datetime, actor: Actor) -> str:
    """Erase or pseudonymize the person here, once every system has deleted (PIPL 47, GB/T
    8.3, 8.5); keep the minimal record of their requests; return what the reply says was kept."""
    subject = db.session.get(Subject, request.subject_id)
    done = erasure.erase_subject(
        org, subject, now, reason=f"{request.type} request (PIPL 47)", reference=request.public_id
    )
    minimized = _minimal_request_records(subject, now)
    step(request, "erase_here", actor,
         f"erased here: {done.consents_withdrawn} consents withdrawn, {done.events_redacted} events "
         f"redacted, {done.receipts_erased} receipts erased, {minimized} request records minimized",
         now)  # fmt: skip
    zh = request.language != "en"
    kept = "\n".join(f"- {k.zh if zh else k.en}" for k in done.kept)
    lead = (
        "我们已删除您的个人信息，仅保留法律要求保留的内容："
        if zh
        else ("Your personal information has been deleted; only what the law requires is kept:")
    )
    return f"{lead}\n{kept}"


def _minimal_request_records(subject: Subject, now: datetime) -> int:
    """Keep of the person's requests only what shows they were answered (type, dates, steps):
    what they asked, their corrections, a requester's contact, name, proof and interest, the
    data the systems returned, and the codes are deleted."""
    requests = db.session.scalars(select(RightsRequest).where(RightsRequest.subject_id == subject.id)).all()
    for row in requests:
        row.details_encrypted = row.corrections_encrypted = row.requester_contact_encrypted = None
        row.requester_name = row.requester_proof = row.requester_interest = None
    ids = [row.id for row in requests]
    db.session.execute(
        update(RightsTask).where(RightsTask.subject_id == subject.id).values(result_encrypted=None)
    )
    db.session.execute(delete(IdentityCode).where(IdentityCode.request_id.in_(ids)))
    packages.purge_for(ids, now)
    db.session.flush()
    return len(requests)


def _package(org: Organization, request: RightsRequest, now: datetime, actor: Actor) -> str:
    """The package of everything held about the person and what the systems returned, and
    the requester's sentence with its link (never on the timeline)."""
    subject = db.session.get(Subject, request.subject_id)
    results = [
        holdings.SystemResult(
            system=task.system.name,
            categories=tuple(task.categories or task.system.categories),
            data=result_of(task),
            answered_at=task.answered_at,
        )
        for task in tasks_of(request)
        if task.status == "done"
    ]
    requests = db.session.scalars(
        select(RightsRequest).where(RightsRequest.subject_id == subject.id).order_by(RightsRequest.id)
    ).all()
    content = package.build(
        org, subject, requests=requests, system_results=results, language=request.language, now=now
    )
    row, url = packages.create(org, request, content, now, actor=actor)
    return messages.package_ready(url, row.expires_at, org.timezone, request.language)
