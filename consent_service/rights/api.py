"""Rights requests over the API (PIPL 44-50; GB/T 35273 8): create, list, read, and one route
per step of the request's life."""

from __future__ import annotations

from typing import Any

from consent_service.api.registry import operation
from consent_service.clock import utcnow
from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.oauth.guard import authenticate
from consent_service.organizations.models import Organization
from consent_service.rights import actions, fulfilment, queries, replies, service, tasks
from consent_service.rights.deadlines import rule_for
from consent_service.rights.models import RightsRequest
from consent_service.rights.schemas import (
    AssignIn,
    NoteIn,
    ReasonIn,
    RefuseIn,
    RequestQuery,
    RightsRequestIn,
    RightsRequestListOut,
    RightsRequestOut,
    VerifyIn,
)
from consent_service.rights.timeline import Actor, timeline
from consent_service.rights.types import REQUEST_TYPES
from consent_service.rights.workflow import allowed_actions

PROVISIONAL = (
    "the due date is provisional: the holiday calendar for its year is not loaded yet; it is "
    "computed early, never late, and recomputed when the data is loaded"
)


def _caller() -> Actor:
    return Actor("client", authenticate().client_id)


def view(request: RightsRequest, *, full: bool = True) -> dict[str, Any]:
    """A request as the API shows it: plain data, the deadline explained."""
    subject = db.session.get(Subject, request.subject_id)
    rule = rule_for(request.regime, request.type)
    data: dict[str, Any] = {
        "id": request.public_id,
        "subject": subject.external_id,
        "type": request.type,
        "clauses": list(REQUEST_TYPES[request.type].clauses),
        "regime": request.regime,
        "status": request.status,
        "channel": request.channel,
        "requester": {
            "kind": request.requester_kind,
            "name": request.requester_name,
            "relationship": request.requester_relationship,
        },
        "received_at": request.received_at,
        "identity_verified_at": request.identity_verified_at,
        "identity_verified_by": request.identity_verified_by,
        "due_at": request.due_at,
        "provisional": request.provisional,
        "paused_days": request.paused_days,
        "deadline": {
            "amount": rule.amount,
            "unit": rule.unit,
            "starts_at": rule.starts_at,
            "clause": rule.clause,
            "clock_started_at": request.clock_started_at,
            "due_at": request.due_at,
            "due_day": request.due_day,
            "provisional": request.provisional,
            "paused_days": request.paused_days,
            "extended": request.extended_at is not None,
            "warning": PROVISIONAL if request.provisional else None,
        },
        "assigned_to": request.assigned_to,
        "at_risk": request.at_risk,
        "overdue": request.overdue,
        "refusal": None
        if request.refusal_ground is None
        else {
            "ground": request.refusal_ground,
            "explanation": request.refusal_explanation,
            "complaint_channel": request.complaint_channel,
        },
        "closed_at": request.closed_at,
        "allowed_actions": allowed_actions(request.status),
    }
    if full:
        data["details"] = replies.details_of(request)
        data["timeline"] = timeline(request)
        data["tasks"] = [tasks.describe_task(t) for t in tasks.tasks_of(request)]
    return data


@operation(
    "/rights-requests",
    "POST",
    scope="rights:write",
    tag="Rights requests",
    body=RightsRequestIn(),
    response=RightsRequestOut(),
    status=201,
    clause="PIPL 44-50; GB/T 35273 8",
    summary="Receive a rights request",
)
def create_rights_request(org: Organization, body: dict):
    """Receive a request to see, copy, move, correct or delete information, restrict
    processing, cancel an account, withdraw consent, have processing explained, or complain.
    With ``identity_verified_by: company`` the company vouches for the person and the legal
    clock starts now; otherwise a 6-digit code is mailed to the requester. The answer gives the
    due date (``provisional`` when computed past the holiday calendar known)."""
    requester = body.get("requester") or {}
    request = service.create_request(
        org,
        body["subject"],
        body["type"],
        utcnow(),
        regime=body["regime"],
        requester=service.Requester(**requester) if requester else None,
        channel=body["channel"],
        identity_verified_by=body["identity_verified_by"],
        client_id=authenticate().client_id,
        entered_by=body["entered_by"],
        details=body["details"],
        corrections=body["corrections"],
        language=body["language"],
    )
    return view(request)


@operation(
    "/rights-requests",
    scope="rights:read",
    tag="Rights requests",
    query=RequestQuery(),
    response=RightsRequestListOut(),
    summary="List rights requests",
)
def list_rights_requests(org: Organization, query: dict):
    """Requests, soonest due first, filtered by status, type, due before a time, overdue or at
    risk; pass ``next_cursor`` as ``cursor`` for the next page."""
    rows, cursor = queries.list_requests(
        org,
        utcnow(),
        status=query.get("status"),
        request_type=query.get("type"),
        due_before=query.get("due_before"),
        overdue=query.get("overdue"),
        at_risk=query.get("at_risk"),
        cursor=int(query["cursor"]) if "cursor" in query else None,
        limit=query["limit"],
    )
    return {"requests": [view(r, full=False) for r in rows], "next_cursor": cursor}


@operation(
    "/rights-requests/<request_id>",
    scope="rights:read",
    tag="Rights requests",
    response=RightsRequestOut(),
    summary="Get a rights request",
)
def get_rights_request(org: Organization, request_id: str):
    """The request with its timeline and its deadline explained."""
    return view(queries.get_request(org, request_id))


def _step(path: str, summary: str, body=None, clause: str | None = None):
    return operation(
        f"/rights-requests/<request_id>/{path}",
        "POST",
        scope="rights:write",
        tag="Rights requests",
        body=body,
        response=RightsRequestOut(),
        errors=(409,),
        clause=clause,
        summary=summary,
    )


@_step("verify", "Verify the requester", VerifyIn(), "GB/T 35273 8.7 a)")
def verify_rights_request(org: Organization, request_id: str, body: dict):
    """With the mailed ``code`` (10 minutes, 5 attempts), or ``by: company`` when the company
    vouches for the requester. The legal clock starts."""
    return view(
        service.verify_identity(org, request_id, utcnow(), _caller(), code=body["code"], by=body["by"])
    )


@_step("resend-code", "Mail a new code")
def resend_rights_code(org: Organization, request_id: str):
    """A new code for the requester (one a minute, five in all; 429 with ``Retry-After``)."""
    return view(service.resend_code(org, request_id, utcnow(), _caller()))


@_step("pause", "Wait for the requester", ReasonIn())
def pause_rights_request(org: Organization, request_id: str, body: dict):
    """The clock stops while the requester is asked for something; the reason is recorded."""
    return view(actions.pause(org, request_id, body["reason"], utcnow(), _caller()))


@_step("resume", "Resume", NoteIn())
def resume_rights_request(org: Organization, request_id: str, body: dict):
    """The requester answered: the clock runs again and the due date moves by the days paused."""
    return view(actions.resume(org, request_id, utcnow(), _caller(), body["note"]))


@_step("extend", "Extend the deadline", ReasonIn(), "GDPR Art. 12(3)")
def extend_rights_request(org: Organization, request_id: str, body: dict):
    """Where the regime allows it (GDPR: two more months, notified with the reason within the
    first month); the requester is told the new date."""
    return view(actions.extend(org, request_id, body["reason"], utcnow(), _caller()))


@_step("assign", "Assign to an officer", AssignIn())
def assign_rights_request(org: Organization, request_id: str, body: dict):
    """The officer (a mail address) receives the reminders before the deadline."""
    return view(actions.assign(org, request_id, body["officer"], utcnow(), _caller()))


@_step("complete", "Complete", NoteIn())
def complete_rights_request(org: Organization, request_id: str, body: dict):
    """The request was carried out; the requester gets the reply. Refused (409 ``tasks_open``)
    while data systems have not answered their tasks."""
    return view(fulfilment.finish(org, request_id, utcnow(), _caller(), body["note"]))


@_step("refuse", "Refuse", RefuseIn(), "GB/T 35273 8.7 d); PIPL 50")
def refuse_rights_request(org: Organization, request_id: str, body: dict):
    """Refuse on one of GB/T 8.7's grounds, with an explanation and the complaint channel."""
    return view(
        actions.refuse(
            org,
            request_id,
            utcnow(),
            _caller(),
            ground=body["ground"],
            explanation=body["explanation"],
            complaint_channel=body["complaint_channel"],
        )
    )


@_step("withdraw", "Withdraw", NoteIn())
def withdraw_rights_request(org: Organization, request_id: str, body: dict):
    """The requester no longer asks."""
    return view(actions.withdraw(org, request_id, utcnow(), _caller(), body["note"]))
