"""Write side of the ledger: subjects and consent acts (PIPL 13-17, 29, 31; GB/T 5.3-5.6).

Functions here flush but never commit: the request or command that calls them owns the
transaction (house style 5).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from consent_service.consent.chain import Actor, append, notify, project
from consent_service.consent.models import (
    ACTOR_KINDS,
    COLLECTION_METHODS,
    CONSENT_TYPES,
    ConsentEvent,
    ConsentState,
    Subject,
)
from consent_service.consent.subjects import is_minor
from consent_service.errors import (
    ConsentNotApplicable,
    ConsentTypeInsufficient,
    GuardianRequired,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    RepromptTooSoon,
    SeparateConsentRequired,
    StalePolicyVersion,
)
from consent_service.extensions import db
from consent_service.memo import in_batch, remembered
from consent_service.policies.models import (
    CONSENT_REQUIREMENTS,
    Organization,
    PolicyVersion,
    Purpose,
    PurposeVersion,
)
from consent_service.policies.service import get_purpose

#: Acts a caller may record; ``expire`` is written by the expiry sweep only.
CALLER_ACTIONS = ("grant", "withdraw", "refuse", "invalidate")
#: How strong each consent type is, against CONSENT_REQUIREMENTS.
CONSENT_TYPE_RANK = {"implied": 1, "explicit": 2, "separate": 3, "written": 4}
REQUIREMENT_RANK = {name: rank for rank, name in enumerate(CONSENT_REQUIREMENTS)}
#: How far in the future an ``occurred_at`` may be (clock skew between systems).
MAX_CLOCK_SKEW = timedelta(minutes=5)
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
EVIDENCE_KEYS = {"ip", "user_agent", "locale", "notice_sha256", "document_ref", "note"}


@dataclass
class ActResult:
    """What recording an act produced: new events (none for a no-op), states, receipts."""

    events: list[ConsentEvent]
    states: list[ConsentState]
    #: Receipts by event id (filled once the events are flushed; in a batch, at its end).
    receipts: dict[int, str] = field(default_factory=dict)
    is_replay: bool = False
    #: The receipt of each event, in the order of ``events`` (``None`` for non-grants).
    receipt_tokens: list[str | None] = field(default_factory=list)


# --- consent acts -------------------------------------------------------------------------


def _validate_act(
    action: str,
    consent_type: str | None,
    method: str,
    actor: Actor,
    evidence: dict[str, Any],
    occurred_at: datetime,
    purposes: list[str],
    now: datetime,
) -> None:
    errors: dict[str, list[str]] = {}
    if action not in CALLER_ACTIONS:
        errors["action"] = [f"must be one of {', '.join(CALLER_ACTIONS)}"]
    if action == "grant" and consent_type not in CONSENT_TYPES:
        errors["consent_type"] = [f"a grant needs one of {', '.join(CONSENT_TYPES)}"]
    elif consent_type is not None and consent_type not in CONSENT_TYPES:
        errors["consent_type"] = [f"must be one of {', '.join(CONSENT_TYPES)}"]
    if method not in COLLECTION_METHODS or method == "system":
        errors["method"] = [f"must be one of {', '.join(m for m in COLLECTION_METHODS if m != 'system')}"]
    if actor.kind not in ACTOR_KINDS or actor.kind == "system":
        errors["actor.kind"] = ["must be subject, guardian or officer"]
    if actor.kind == "guardian" and not (actor.name and actor.relationship):
        errors["actor"] = ["a guardian needs a name and a relationship (PIPL 31)"]
    if actor.kind == "officer" and not (actor.name and actor.reason):
        errors["actor"] = ["an officer acting for a person needs a name and a reason"]
    if action == "invalidate" and actor.kind != "officer":
        errors["actor.kind"] = ["only an officer invalidates a consent"]
    for name in ("name", "relationship", "reason"):
        value = getattr(actor, name)
        if value is not None and (not isinstance(value, str) or len(value) > 1000):
            errors[f"actor.{name}"] = ["must be text of at most 1000 characters"]
    if not isinstance(evidence, dict):
        errors["evidence"] = ["must be an object"]
    else:
        unknown = set(evidence) - EVIDENCE_KEYS
        if unknown:
            errors["evidence"] = [f"unknown fields: {sorted(unknown)}"]
        for key, value in evidence.items():
            if not isinstance(value, str) or len(value) > 2000:
                errors[f"evidence.{key}"] = ["must be text of at most 2000 characters"]
        notice = evidence.get("notice_sha256")
        if isinstance(notice, str) and not SHA256_HEX.match(notice):
            errors["evidence.notice_sha256"] = ["must be 64 lowercase hexadecimal digits"]
    if not isinstance(occurred_at, datetime) or occurred_at.tzinfo is None:
        errors["occurred_at"] = ["must be a datetime with a time zone"]
    elif occurred_at > now + MAX_CLOCK_SKEW:
        errors["occurred_at"] = ["is in the future"]
    if not purposes or not all(isinstance(p, str) and p for p in purposes):
        errors["purposes"] = ["name at least one purpose"]
    elif len(set(purposes)) != len(purposes):
        errors["purposes"] = ["a purpose is named twice"]
    if errors:
        raise InvalidInput("invalid consent act", errors)


def _policy_for(org: Organization, label: str | None, at: datetime) -> PolicyVersion | None:
    """The named published policy, or the one in force at ``at`` when none is named."""
    published = remembered(
        ("published_policies", org.id),
        lambda: list(
            db.session.scalars(
                select(PolicyVersion)
                .where(PolicyVersion.org_id == org.id, PolicyVersion.status == "published")
                .order_by(PolicyVersion.seq.desc())
            )
        ),
    )
    if label is not None:
        policy = next((p for p in published if p.label == label), None)
        if policy is None:
            raise StalePolicyVersion(f"policy version {label!r} is not published")
        return policy
    return next((p for p in published if p.published_at <= at), None)


def _check_grant(
    org: Organization,
    subject: Subject,
    versions: list[PurposeVersion],
    consent_type: str,
    actor: Actor,
    states: dict[int, ConsentState],
    is_subject_initiated: bool,
    occurred_at: datetime,
) -> None:
    """Apply the rules a grant must meet, each with its clause."""
    codes = [v.purpose.code for v in versions]
    not_consent = [v.purpose.code for v in versions if v.legal_basis != "consent"]
    if not_consent:
        raise ConsentNotApplicable(
            "these purposes do not rest on consent (PIPL 13): " + ", ".join(not_consent),
            {"purposes": not_consent},
        )
    # PIPL 31, GB/T 5.4 d): a child under 14 is consented for by a guardian.
    if is_minor(subject, org, occurred_at) and not actor.is_guardian:
        raise GuardianRequired("the subject is under 14: a guardian must give consent (PIPL 31)")
    # PIPL 23, 25, 29, 39: separate consent is one purpose per act.
    separate = [v.purpose.code for v in versions if v.needs_separate_consent]
    if separate and len(versions) > 1:
        raise SeparateConsentRequired(
            "these purposes need separate consent, one purpose per act: " + ", ".join(separate),
            {"purposes": separate, "bundle": codes},
        )
    for version in versions:
        required = version.consent_requirement
        if version.needs_separate_consent and REQUIREMENT_RANK[required] < REQUIREMENT_RANK["separate"]:
            required = "separate"
        if version.is_sensitive and REQUIREMENT_RANK[required] < REQUIREMENT_RANK["explicit"]:
            required = "explicit"  # GB/T 5.4 b)
        if CONSENT_TYPE_RANK[consent_type] < REQUIREMENT_RANK[required]:
            raise ConsentTypeInsufficient(
                f"purpose {version.purpose.code!r} needs {required} consent, got {consent_type}",
                {"purpose": version.purpose.code, "required": required},
            )
    # GB/T 35273 Annex C.4 b): no asking again within 48 hours of a refusal.
    window = timedelta(hours=current_app.config["REPROMPT_AFTER_REFUSAL_HOURS"])
    for version in versions:
        state = states.get(version.purpose_id)
        if (
            state is not None
            and state.refused_at is not None
            and not is_subject_initiated
            and state.refused_at <= occurred_at < state.refused_at + window
        ):
            raise RepromptTooSoon(
                f"{version.purpose.code!r} was refused at {state.refused_at.isoformat()}; "
                f"it may be asked again from {(state.refused_at + window).isoformat()}",
                {"purpose": version.purpose.code, "retry_after": (state.refused_at + window).isoformat()},
            )


def _replay(org: Organization, subject: Subject, key: str, action: str, codes: list[str]) -> ActResult:
    """Return the act first recorded under ``key``, or refuse a different act with it."""
    first = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.org_id == org.id, ConsentEvent.idempotency_key == key)
    ).one()
    events = list(
        db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.bundle_id == first.bundle_id).order_by(ConsentEvent.seq)
        )
    )
    if (
        first.subject_id != subject.id
        or first.action != action
        or sorted(e.purpose.code for e in events) != sorted(codes)
    ):
        raise IdempotencyKeyReused(f"idempotency key {key!r} was used for a different act")
    states = [db.session.get(ConsentState, (subject.id, e.purpose_id)) for e in events]
    from consent_service.receipts.service import receipts_for

    receipts = receipts_for(events)
    return ActResult(
        events=events,
        states=states,
        receipts=receipts,
        is_replay=True,
        receipt_tokens=[receipts.get(e.id) for e in events],
    )


def record_act(
    org: Organization,
    subject: Subject,
    now: datetime,
    *,
    purposes: list[str],
    action: str,
    consent_type: str | None = None,
    method: str = "api",
    actor: Actor | dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    policy_version: str | None = None,
    idempotency_key: str | None = None,
    is_subject_initiated: bool = False,
) -> ActResult:
    """Record one consent act by ``subject`` on one or more purposes (PIPL 14-16, 29, 31).

    A grant of several purposes is one bundle: refused with
    :class:`SeparateConsentRequired` if any of them needs separate consent. A withdrawal is
    always accepted; withdrawing what is not granted records nothing (idempotent, PIPL 15).
    With ``idempotency_key``, a retry returns the first act and writes nothing.
    """
    actor = Actor.from_value(actor)
    evidence = {} if evidence is None else evidence
    occurred_at = now if occurred_at is None else occurred_at
    _validate_act(action, consent_type, method, actor, evidence, occurred_at, purposes, now)
    if idempotency_key is not None and not (
        isinstance(idempotency_key, str) and 0 < len(idempotency_key) <= 200
    ):
        raise InvalidInput("invalid idempotency key", {"idempotency_key": ["must be 1-200 characters"]})
    if subject.org_id != org.id:
        raise NotFound("no such subject")

    # One writer per person at a time: the subject row is the lock of their chain (a batch
    # locks all its people up front, in id order, and keeps their rows current itself).
    batch = in_batch()
    if batch is None or subject.id not in batch.get("locked_subjects", ()):
        db.session.execute(select(Subject.id).where(Subject.id == subject.id).with_for_update())
        db.session.refresh(subject)
    if idempotency_key is not None:
        if batch is not None and idempotency_key in batch.setdefault("pending_keys", set()):
            db.session.flush()  # a key repeated inside one batch: let the database see the first
        exists = db.session.scalar(
            select(ConsentEvent.id).where(
                ConsentEvent.org_id == org.id, ConsentEvent.idempotency_key == idempotency_key
            )
        )
        if exists is not None:
            return _replay(org, subject, idempotency_key, action, purposes)
        if batch is not None:
            batch["pending_keys"].add(idempotency_key)

    purpose_rows: list[Purpose] = [
        remembered(("purpose", org.id, code), lambda code=code: get_purpose(org, code)) for code in purposes
    ]
    versions = [p.current for p in purpose_rows]
    states = _current_states(subject, [p.id for p in purpose_rows], batch)
    policy = _policy_for(org, policy_version, occurred_at)
    if action == "grant":
        _check_grant(org, subject, versions, consent_type, actor, states, is_subject_initiated, occurred_at)
    elif action in ("withdraw", "invalidate"):
        # Withdrawing what is not in force changes nothing and records nothing.
        versions = [v for v in versions if _in_force(states.get(v.purpose_id))]

    bundle_id = str(uuid.uuid4())
    result = ActResult(events=[], states=[])
    for index, version in enumerate(versions):
        event = append(
            org,
            subject,
            version,
            now,
            action=action,
            consent_type=consent_type,
            method=method,
            actor=actor,
            evidence=evidence,
            occurred_at=occurred_at,
            policy=policy,
            bundle_id=bundle_id,
            bundle_size=len(versions),
            idempotency_key=idempotency_key if index == 0 else None,
            is_subject_initiated=is_subject_initiated,
        )
        result.events.append(event)
        state = project(states.get(version.purpose_id), event)
        states[version.purpose_id] = state
        if batch is not None:
            batch.setdefault("states", {})[(subject.id, version.purpose_id)] = state
        result.states.append(state)
    if action == "grant":
        from consent_service.receipts.service import issue_receipt

        result.receipt_tokens = [
            issue_receipt(org, subject, event, version, policy, now)
            for event, version in zip(result.events, versions, strict=True)
        ]
    else:
        result.receipt_tokens = [None] * len(result.events)
    for event, state in zip(result.events, result.states, strict=True):
        notify(org, subject, event, state, now)
    if batch is None:  # a batch flushes once at its end (see finish_batch)
        finish(result)
    return result


def finish(result: ActResult) -> ActResult:
    """Flush what an act wrote and key its receipts by event id."""
    db.session.flush()
    result.receipts = {
        e.id: token
        for e, token in zip(result.events, result.receipt_tokens, strict=True)
        if token is not None
    }
    return result


def _current_states(subject: Subject, purpose_ids: list[int], batch: dict | None) -> dict[int, ConsentState]:
    """The state rows of ``subject`` for ``purpose_ids``; in a batch, including rows it created."""
    known = batch.setdefault("states", {}) if batch is not None else {}
    missing = [p for p in purpose_ids if (subject.id, p) not in known]
    if batch is not None and subject.id in batch.get("all_states_of", ()):
        missing = []  # loaded up front: what is not known does not exist
    found = {}
    if missing:
        with db.session.no_autoflush:
            found = {
                s.purpose_id: s
                for s in db.session.scalars(
                    select(ConsentState).where(
                        ConsentState.subject_id == subject.id, ConsentState.purpose_id.in_(missing)
                    )
                )
            }
    out = {p: known[(subject.id, p)] for p in purpose_ids if (subject.id, p) in known}
    out.update(found)
    return out


def _in_force(state: ConsentState | None) -> bool:
    return state is not None and state.status == "granted"
