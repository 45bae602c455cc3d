"""Subjects, consent acts, state, history and decisions over the API (PIPL 13-16, 29, 31)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import current_app, request
from marshmallow import ValidationError
from sqlalchemy import select

from consent_service.api.registry import PayloadTooLarge, Reply, operation
from consent_service.clock import utcnow
from consent_service.consent import service, subjects
from consent_service.consent.decisions import decide, iso
from consent_service.consent.hotpath import decide_many, decide_with_token
from consent_service.consent.models import ConsentEvent
from consent_service.consent.rows import EventRow
from consent_service.consent.schemas import (
    ActOut,
    BatchActIn,
    BatchIn,
    BatchOut,
    ConsentActIn,
    DecisionBatchIn,
    DecisionBatchOut,
    DecisionOut,
    DecisionQuery,
    HistoryOut,
    HistoryQuery,
    StateListOut,
    SubjectIn,
    SubjectOut,
)
from consent_service.consent.state import StateView
from consent_service.database import read_only_transaction
from consent_service.errors import InvalidInput
from consent_service.extensions import db
from consent_service.oauth.guard import InvalidToken, bearer_token, require
from consent_service.organizations.models import Organization
from consent_service.policies.purposes import current_versions


def _subject_view(org: Organization, subject):
    """The subject with ``is_minor`` computed now, for :class:`SubjectOut`."""
    subject.is_minor = subjects.is_minor(subject, org, utcnow())
    return subject


@operation(
    "/subjects/<external_id>",
    "PUT",
    scope="subjects:write",
    tag="Subjects",
    body=SubjectIn(),
    response=SubjectOut(),
    other_statuses=(201,),
    clause="PIPL 31; GB/T 5.4 d)",
    summary="Create or update a subject",
)
def put_subject(org: Organization, external_id: str, body: dict):
    """Create the person (by the company's own user id) or update the fields given. A birth
    date or ``is_under_14`` makes consent come from a guardian (PIPL 31)."""
    existed = subjects.find_subject(org, external_id) is not None
    subject = subjects.upsert_subject(org, external_id, utcnow(), **body)
    return Reply(_subject_view(org, subject), 200 if existed else 201)


@operation(
    "/subjects/<external_id>",
    scope="consents:read",
    tag="Subjects",
    response=SubjectOut(),
    summary="Get a subject",
)
def get_subject(org: Organization, external_id: str):
    """The person as the service knows them, with the head of their consent chain."""
    return _subject_view(org, subjects.get_subject(org, external_id))


def _event_json(e: EventRow) -> dict[str, Any]:
    """What :class:`EventOut` gives, built directly: a batch answers with thousands of these."""
    return {
        "id": e.uuid,
        "seq": e.seq,
        "purpose": e.purpose_code,
        "purpose_version": e.purpose_version,
        "policy_version": e.policy_label,
        "action": e.action,
        "consent_type": e.consent_type,
        "actor": {
            "kind": e.actor_kind,
            "name": e.actor_name,
            "relationship": e.actor_relationship,
            "reason": e.actor_reason,
        },
        "method": e.method,
        "evidence": e.evidence,
        "is_subject_initiated": e.is_subject_initiated,
        "bundle_id": e.bundle_id,
        "occurred_at": iso(e.occurred_at),
        "recorded_at": iso(e.recorded_at),
        "expires_at": iso(e.expires_at),
        "hash": e.hash,
        "prev_hash": e.prev_hash,
    }


def _state_json(code: str, view: StateView) -> dict[str, Any]:
    """What :class:`StateOut` gives."""
    return {
        "purpose": code,
        "status": view.status,
        "purpose_version": view.purpose_version,
        "consent_type": view.consent_type,
        "consent_event_id": view.event_uuid,
        "occurred_at": iso(view.occurred_at),
        "expires_at": iso(view.expires_at),
        "refused_at": iso(view.refused_at),
    }


def _act_body(external_id: str, result: service.ActResult) -> dict[str, Any]:
    events = [_event_json(e) for e in result.events]
    # The states follow the events; an act that changed nothing answers with the current
    # states of the purposes it named (those that have one), in that order.
    states = [
        _state_json(code, view) for code, view in zip(result.state_purposes, result.states, strict=True)
    ]
    receipts = [token for token in result.receipt_tokens if token is not None]
    return {
        "subject": external_id,
        "replayed": result.is_replay,
        "event": events[0] if events else None,
        "state": states[0] if states else None,
        "receipt": receipts[0] if receipts else None,
        "events": events,
        "states": states,
        "receipts": receipts,
    }


def _request(external_id: str, act: dict[str, Any], key: str | None) -> service.ActRequest:
    return service.ActRequest(
        subject=external_id,
        purposes=act.get("purposes") or [act["purpose"]],
        action=act["action"],
        consent_type=act.get("consent_type"),
        method=act.get("method", "api"),
        actor=act.get("actor"),
        evidence=act.get("evidence") or {},
        occurred_at=act.get("occurred_at"),
        policy_version=act.get("policy_version"),
        idempotency_key=key,
        is_subject_initiated=act.get("is_subject_initiated", False),
    )


@operation(
    "/subjects/<external_id>/consents",
    "POST",
    scope="consents:write",
    tag="Consents",
    body=ConsentActIn(),
    response=ActOut(),
    status=201,
    other_statuses=(200,),
    idempotent=True,
    errors=(409,),
    clause="PIPL 14, 15, 16, 23, 25, 29, 31, 39; GB/T C.4 b)",
    summary="Record a consent act",
)
def record_consent(org: Organization, external_id: str, body: dict):
    """Record a grant, withdrawal, refusal or (officer) invalidation. A grant answers with the
    signed receipt. Send ``Idempotency-Key`` to make retries safe: a retry returns the first
    answer and records nothing. Conflicts (409): ``separate_consent_required``,
    ``guardian_required``, ``reprompt_too_soon``, ``consent_type_insufficient``."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and "\x00" not in key):
        raise InvalidInput(
            "invalid Idempotency-Key", {"Idempotency-Key": ["must be 1-200 characters, without NUL"]}
        )
    result = service.record_one(org, _request(external_id, body, key), utcnow())
    data = _act_body(external_id, result)
    headers = {}
    if result.is_replay:
        # A retry gets the first answer as it was, byte for byte; the header marks the replay.
        data["replayed"] = False
        headers["Idempotent-Replayed"] = "true"
    return Reply(data, 201 if result.events else 200, headers, is_serialized=True)


def _check_batch_size(items: list[Any]) -> None:
    """413 past ``API_BATCH_LIMIT`` items."""
    limit = current_app.config["API_BATCH_LIMIT"]
    if len(items) > limit:
        raise PayloadTooLarge(f"at most {limit} items per call, got {len(items)}")


def _load_items(items: list[Any], schema) -> list[dict]:
    _check_batch_size(items)
    try:
        return schema.load(items, many=True)
    except ValidationError as exc:
        errors = {str(index): messages for index, messages in exc.messages.items()}
        raise InvalidInput("some items are invalid; nothing was recorded", errors) from exc


@operation(
    "/consents/batch",
    "POST",
    scope="consents:write",
    tag="Consents",
    body=BatchIn(),
    response=BatchOut(),
    status=201,
    errors=(413,),
    summary="Record up to 1,000 consent acts",
)
def record_batch(org: Organization, body: dict):
    """Every item is validated first; if any is invalid or refused, the answer lists the errors
    per item (by index) and nothing is written."""
    items = _load_items(body["items"], BatchActIn())
    requests = [_request(item["subject"], item, item.get("idempotency_key")) for item in items]
    results = service.record_acts(org, requests, utcnow())
    answers = [_act_body(r.subject, result) for r, result in zip(requests, results, strict=True)]
    return Reply({"count": len(answers), "results": answers}, is_serialized=True)


@operation(
    "/subjects/<external_id>/consents",
    scope="consents:read",
    tag="Consents",
    response=StateListOut(),
    summary="Current consent state per purpose",
)
def list_states(org: Organization, external_id: str):
    """For each purpose, whether processing is allowed now and why."""
    subject = subjects.get_subject(org, external_id)
    now = utcnow()
    codes = sorted(current_versions(org))
    results = decide_many(org.id, org.timezone, [(external_id, code) for code in codes], now)
    consents = [
        {"subject": external_id, "purpose": code} | asdict(result)
        for code, result in zip(codes, results, strict=True)
    ]
    return {"subject": subject.external_id, "consents": consents}


@operation(
    "/subjects/<external_id>/consent-events",
    scope="consents:read",
    tag="Consents",
    query=HistoryQuery(),
    response=HistoryOut(),
    summary="Consent history, newest first",
)
def history(org: Organization, external_id: str, query: dict):
    """Every consent event of the person, newest first; pass ``next_cursor`` as ``cursor``."""
    subject = subjects.get_subject(org, external_id)
    limit = query["limit"]
    q = select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
    if "cursor" in query:
        q = q.where(ConsentEvent.seq < int(query["cursor"]))
    rows = db.session.scalars(q.order_by(ConsentEvent.seq.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"subject": external_id, "events": rows, "next_cursor": str(rows[-1].seq) if more else None}


@operation(
    "/subjects/<external_id>/decisions/<purpose_code>",
    scope="consents:read",
    tag="Decisions",
    query=DecisionQuery(),
    response=DecisionOut(),
    clause="PIPL 13-16, 31",
    summary="May I process?",
    checks_token_itself=True,
    limit_setting="DECISION_RATE_LIMIT",
)
def decision(_: None, external_id: str, purpose_code: str, query: dict):
    """Whether the organization may process this person's information for this purpose now
    (or at ``at``), the legal basis, a reason code, and the consent event it rests on."""
    now = utcnow()
    if "at" not in query:
        token = bearer_token()
        if token is None:
            raise InvalidToken("a bearer token is required (Authorization: Bearer <token>)")
        result = decide_with_token(token, external_id, purpose_code, "consents:read", now)
    else:
        read_only_transaction(db.session)
        org = db.session.get(Organization, require("consents:read").org_id)
        result = decide(org, external_id, purpose_code, query["at"], now)
    return Reply({"subject": external_id, "purpose": purpose_code, **result.to_dict()}, is_serialized=True)


@operation(
    "/decisions",
    "POST",
    scope="consents:read",
    tag="Decisions",
    body=DecisionBatchIn(),
    response=DecisionBatchOut(),
    errors=(413,),
    summary="Up to 1,000 decisions in one call",
    read_only=True,
)
def decisions(org: Organization, body: dict):
    """Answers for many (subject, purpose) pairs, in the order asked."""
    _check_batch_size(body["items"])
    now = utcnow()
    pairs = [(i["subject"], i["purpose"]) for i in body["items"]]
    at = body.get("at") or now
    if at >= now:
        results = decide_many(org.id, org.timezone, pairs, now, at=at)
    else:
        results = [decide(org, subject, purpose, body["at"], now) for subject, purpose in pairs]
    answers = [
        {"subject": subject, "purpose": purpose, **result.to_dict()}
        for (subject, purpose), result in zip(pairs, results, strict=True)
    ]
    return Reply({"results": answers}, is_serialized=True)
