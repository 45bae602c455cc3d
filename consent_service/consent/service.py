"""Write side of the ledger: subjects and consent acts (PIPL 13-17, 29, 31; GB/T 5.3-5.6).

Every act, one or a thousand, is planned in memory and written by one
:class:`~consent_service.consent.writer.ChainWriter`. Functions here write but never commit: the
request or command that calls them owns the transaction (house style 5).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from consent_service.canonical import canonical_json
from consent_service.consent.models import (
    ConsentEvent,
    Subject,
)
from consent_service.consent.rows import Chain, EventRow, history
from consent_service.consent.rules import check_grant, in_force, policy_for, validate_act
from consent_service.consent.state import StateView, fold
from consent_service.consent.writer import Actor, ChainWriter
from consent_service.database import in_values
from consent_service.errors import (
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
)
from consent_service.extensions import db
from consent_service.memo import batch_lookups
from consent_service.organizations.models import Organization
from consent_service.policies.models import PurposeVersion
from consent_service.policies.purposes import current_versions
from consent_service.receipts.service import receipts_for


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


def fingerprint(request: ActRequest, actor: Actor, evidence: dict[str, Any]) -> str:
    """SHA-256 of the act as asked (canonical JSON, purposes in any order): a retry under the
    same idempotency key must ask for exactly this again, or it is refused."""
    asked = {
        "subject": request.subject,
        "purposes": sorted(request.purposes),
        "action": request.action,
        "consent_type": request.consent_type,
        "method": request.method,
        "actor": [actor.kind, actor.name, actor.relationship, actor.reason],
        "evidence": evidence,
        "occurred_at": request.occurred_at and request.occurred_at.astimezone(UTC).isoformat(),
        "policy_version": request.policy_version,
        "is_subject_initiated": bool(request.is_subject_initiated),
    }
    return hashlib.sha256(canonical_json(asked)).hexdigest()


def _replay(
    org: Organization, chain: Chain, key: str, action: str, codes: list[str], asked: str
) -> ActResult:
    """Return the act first recorded under ``key``, or refuse a different act with it (by its
    fingerprint; acts recorded before fingerprints were kept, by person, action and purposes)."""
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
        or (first.idempotency_fingerprint is not None and first.idempotency_fingerprint != asked)
    ):
        raise IdempotencyKeyReused(f"idempotency key {key!r} was used for a different act")
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
        #: Keys first used in this batch: the act's fingerprint and its result.
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
        validate_act(
            action, request.consent_type, request.method, actor, evidence, occurred_at, purposes, self.now
        )
        key = request.idempotency_key
        if key is not None and not (isinstance(key, str) and 0 < len(key) <= 200):
            raise InvalidInput("invalid idempotency key", {"idempotency_key": ["must be 1-200 characters"]})
        chain = self.writer.chains.get(request.subject)
        if chain is None:
            raise NotFound(f"no subject {request.subject!r}")
        asked = fingerprint(request, actor, evidence) if key is not None else None
        if key is not None:
            if key in self.pending_keys:  # the same key twice in one batch: the second replays
                first_asked, first = self.pending_keys[key]
                if first_asked != asked:
                    raise IdempotencyKeyReused(f"idempotency key {key!r} was used for a different act")
                return replace(first, is_replay=True)
            if key in self.used_keys:
                return _replay(self.org, chain, key, action, purposes, asked)

        versions = [self.version(code) for code in purposes]
        states = {v.purpose_id: self.writer.states.get((chain.id, v.purpose_id)) for v in versions}
        policy = policy_for(self.org, request.policy_version, occurred_at)
        if action == "grant":
            check_grant(
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
                    self.pending_keys[key] = (asked, result)
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
                idempotency_fingerprint=asked if index == 0 else None,
                is_subject_initiated=request.is_subject_initiated,
            )
            result.events.append(event)
            result.states.append(state)
            result.state_purposes.append(event.purpose_code)
            token = self.writer.receipt(chain, event, version, policy) if action == "grant" else None
            result.receipt_tokens.append(token)
        if key is not None:
            self.pending_keys[key] = (asked, result)
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
