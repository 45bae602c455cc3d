"""Write side of the ledger: subjects and consent acts (PIPL 13-17, 29, 31; GB/T 5.3-5.6).

Every act, one or a thousand, is planned in memory and written by one
:class:`~consent_service.consent.chain.ChainWriter`. Functions here write but never commit: the
request or command that calls them owns the transaction (house style 5).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from consent_service.consent.chain import Actor, ChainWriter
from consent_service.consent.models import (
    ACTOR_KINDS,
    COLLECTION_METHODS,
    CONSENT_TYPES,
    ConsentEvent,
    Subject,
)
from consent_service.consent.rows import Chain, EventRow, history
from consent_service.consent.state import StateView, fold
from consent_service.consent.subjects import is_minor
from consent_service.database import in_values
from consent_service.errors import (
    ConsentNotApplicable,
    ConsentTypeInsufficient,
    DomainError,
    GuardianRequired,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    RepromptTooSoon,
    SeparateConsentRequired,
    StalePolicyVersion,
)
from consent_service.extensions import db
from consent_service.memo import batch_lookups, remembered
from consent_service.policies.models import (
    CONSENT_REQUIREMENTS,
    Organization,
    PolicyVersion,
    PurposeVersion,
)
from consent_service.policies.service import current_versions

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
class ActRequest:
    """One consent act as asked: by one person (their external id), on one or more purposes."""

    subject: str
    purposes: list[str]
    action: str
    consent_type: str | None = None
    method: str = "api"
    actor: Actor | dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None
    occurred_at: datetime | None = None
    policy_version: str | None = None
    idempotency_key: str | None = None
    is_subject_initiated: bool = False


@dataclass
class ActResult:
    """What recording an act produced: its events (none for a withdrawal of nothing), the
    state of each purpose after it, and the signed receipt of each grant."""

    events: list[EventRow]
    states: list[StateView]
    #: The purpose of each state, in the order of ``states``.
    state_purposes: list[str] = field(default_factory=list)
    #: The receipt of each event, in the order of ``events`` (``None`` for non-grants).
    receipt_tokens: list[str | None] = field(default_factory=list)
    is_replay: bool = False

    @property
    def receipts(self) -> dict[int, str]:
        """Receipts by event id."""
        return {
            e.id: token
            for e, token in zip(self.events, self.receipt_tokens, strict=True)
            if token is not None
        }


class ActsRefused(InvalidInput):
    """Some acts of a batch were invalid or refused; nothing was recorded."""

    def __init__(self, errors: dict[int, DomainError]) -> None:
        super().__init__(
            "some items were refused; nothing was recorded",
            {str(index): error.to_dict() for index, error in sorted(errors.items())},
        )
        self.errors = errors


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


def required_consent(version: PurposeVersion) -> str:
    """The weakest consent type a grant of ``version`` may have: what the purpose asks for, at
    least separate where PIPL 23, 25, 29 or 39 needs it, at least explicit for sensitive PI
    (GB/T 5.4 b)."""
    required = version.consent_requirement
    if version.needs_separate_consent:
        required = max(required, "separate", key=REQUIREMENT_RANK.get)
    if version.is_sensitive:
        required = max(required, "explicit", key=REQUIREMENT_RANK.get)
    return required


def _check_grant(
    org: Organization,
    subject: Chain,
    versions: list[PurposeVersion],
    consent_type: str,
    actor: Actor,
    states: dict[int, StateView | None],
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
        required = required_consent(version)
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


def _replay(org: Organization, chain: Chain, key: str, action: str, codes: list[str]) -> ActResult:
    """Return the act first recorded under ``key``, or refuse a different act with it."""
    first = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.org_id == org.id, ConsentEvent.idempotency_key == key)
    ).one()
    events = list(
        db.session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.subject_id == first.subject_id,
                ConsentEvent.seq.between(first.seq, first.seq + first.bundle_size - 1),
            )
            .order_by(ConsentEvent.seq)
        )
    )
    if (
        first.subject_id != chain.id
        or first.action != action
        or sorted(e.purpose.code for e in events) != sorted(codes)
    ):
        raise IdempotencyKeyReused(f"idempotency key {key!r} was used for a different act")
    from consent_service.receipts.service import receipts_for

    receipts = receipts_for(events)
    states = [  # the state of each purpose right after the act
        fold(e for e in history(event.subject_id, event.purpose_id) if e.seq <= event.seq) for event in events
    ]
    return ActResult(
        events=[EventRow.from_model(e) for e in events],
        states=states,
        state_purposes=[e.purpose.code for e in events],
        receipt_tokens=[receipts.get(e.id) for e in events],
        is_replay=True,
    )


class _Batch:
    """Plans a batch of acts on a :class:`ChainWriter`: lookups made once, rules checked per act."""

    def __init__(self, org: Organization, requests: list[ActRequest], now: datetime) -> None:
        self.org = org
        self.now = now
        self.writer = ChainWriter(org, now)
        codes = sorted(
            {c for r in requests if isinstance(r.purposes, list) for c in r.purposes if isinstance(c, str)}
        )
        self.versions = current_versions(org, codes) if codes else {}
        chains = self.writer.lock(r.subject for r in requests if isinstance(r.subject, str))
        pairs = set()
        for r in requests:
            chain = chains.get(r.subject) if isinstance(r.subject, str) else None
            if chain is not None and isinstance(r.purposes, list):
                pairs.update(
                    (chain.id, self.versions[c].purpose_id)
                    for c in r.purposes
                    if isinstance(c, str) and c in self.versions
                )
        self.writer.load_states(pairs)
        keys = {r.idempotency_key for r in requests if isinstance(r.idempotency_key, str)}
        self.used_keys = set()
        if keys:
            self.used_keys = set(
                db.session.scalars(
                    select(ConsentEvent.idempotency_key).where(
                        ConsentEvent.org_id == org.id,
                        in_values(
                            db.session.get_bind().dialect.name, ConsentEvent.idempotency_key, sorted(keys)
                        ),
                    )
                )
            )
        #: Keys first used in this batch: (subject, action, purposes) and the result.
        self.pending_keys: dict[str, tuple[tuple, ActResult]] = {}
        self.writer.reserve(sum(len(r.purposes) for r in requests if isinstance(r.purposes, list)))

    def version(self, code: str) -> PurposeVersion:
        """The current version (what a consent given now is to) of a purpose the batch names
        (all were loaded up front); :class:`NotFound` otherwise."""
        if code not in self.versions:
            raise NotFound(f"no purpose {code!r}")
        return self.versions[code]

    def plan(self, request: ActRequest) -> ActResult:
        """Check one act against every rule and append its events; raise a DomainError if it
        is refused (the caller then writes nothing)."""
        actor = Actor.from_value(request.actor)
        evidence = {} if request.evidence is None else request.evidence
        occurred_at = self.now if request.occurred_at is None else request.occurred_at
        action, purposes = request.action, request.purposes
        _validate_act(
            action, request.consent_type, request.method, actor, evidence, occurred_at, purposes, self.now
        )
        key = request.idempotency_key
        if key is not None and not (isinstance(key, str) and 0 < len(key) <= 200):
            raise InvalidInput("invalid idempotency key", {"idempotency_key": ["must be 1-200 characters"]})
        chain = self.writer.chains.get(request.subject)
        if chain is None:
            raise NotFound(f"no subject {request.subject!r}")
        if key is not None:
            if key in self.pending_keys:  # the same key twice in one batch: the second replays
                signature, first = self.pending_keys[key]
                if signature != (request.subject, action, sorted(purposes)):
                    raise IdempotencyKeyReused(f"idempotency key {key!r} was used for a different act")
                return replace(first, is_replay=True)
            if key in self.used_keys:
                return _replay(self.org, chain, key, action, purposes)

        versions = [self.version(code) for code in purposes]
        states = {v.purpose_id: self.writer.states.get((chain.id, v.purpose_id)) for v in versions}
        policy = _policy_for(self.org, request.policy_version, occurred_at)
        if action == "grant":
            _check_grant(
                self.org,
                chain,
                versions,
                request.consent_type,
                actor,
                states,
                request.is_subject_initiated,
                occurred_at,
            )
        elif action in ("withdraw", "invalidate"):
            # Withdrawing what is not in force changes nothing and records nothing.
            versions = [v for v in versions if in_force(states.get(v.purpose_id))]
            if not versions:
                result = self._unchanged(chain, purposes)
                if key is not None:
                    self.pending_keys[key] = ((request.subject, action, sorted(purposes)), result)
                return result

        bundle_id = str(uuid.uuid4())
        result = ActResult(events=[], states=[])
        for index, version in enumerate(versions):
            event, state = self.writer.append(
                chain,
                version,
                policy,
                action=action,
                consent_type=request.consent_type,
                method=request.method,
                actor=actor,
                evidence=evidence,
                occurred_at=occurred_at,
                bundle_id=bundle_id,
                bundle_size=len(versions),
                idempotency_key=key if index == 0 else None,
                is_subject_initiated=request.is_subject_initiated,
            )
            result.events.append(event)
            result.states.append(state)
            result.state_purposes.append(event.purpose_code)
            token = self.writer.receipt(chain, event, version, policy) if action == "grant" else None
            result.receipt_tokens.append(token)
        if key is not None:
            self.pending_keys[key] = ((request.subject, action, sorted(purposes)), result)
        return result

    def _unchanged(self, chain: Chain, codes: list[str]) -> ActResult:
        """The result of an act that changed nothing: the current states of its purposes."""
        result = ActResult(events=[], states=[])
        for code in codes:
            state = self.writer.states.get((chain.id, self.version(code).purpose_id))
            if state is not None:
                result.states.append(state)
                result.state_purposes.append(code)
        return result


def record_acts(org: Organization, requests: list[ActRequest], now: datetime) -> list[ActResult]:
    """Record many consent acts in one go (PIPL 14-16, 29, 31), all or nothing.

    Every act is checked against the same rules as :func:`record_act`, in order, each seeing
    the acts before it. If any is refused, :class:`ActsRefused` lists the errors by index and
    nothing is written.
    """
    db.session.flush()  # what the session holds (a subject just created) is seen below
    batch = _Batch(org, requests, now)
    results: list[ActResult] = []
    errors: dict[int, DomainError] = {}
    with batch_lookups():
        for index, request in enumerate(requests):
            try:
                results.append(batch.plan(request))
            except DomainError as exc:
                errors[index] = exc
        if errors:
            raise ActsRefused(errors)
        batch.writer.write()
    return results


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
    if subject.org_id != org.id:
        raise NotFound("no such subject")
    request = ActRequest(
        subject=subject.external_id,
        purposes=purposes,
        action=action,
        consent_type=consent_type,
        method=method,
        actor=actor,
        evidence=evidence,
        occurred_at=occurred_at,
        policy_version=policy_version,
        idempotency_key=idempotency_key,
        is_subject_initiated=is_subject_initiated,
    )
    return record_one(org, request, now)


def record_one(org: Organization, request: ActRequest, now: datetime) -> ActResult:
    """:func:`record_acts` for one act, whose refusal is raised as it is."""
    try:
        return record_acts(org, [request], now)[0]
    except ActsRefused as refused:
        raise refused.errors[0] from None


def in_force(state: StateView | None) -> bool:
    """A grant is in force for this state (what a withdrawal can end, PIPL 15)."""
    return state is not None and state.status == "granted"
