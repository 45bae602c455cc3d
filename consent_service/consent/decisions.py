"""The one decision function: may this organization process this person's information for
this purpose at this moment, and why (PIPL 13-16, 29, 31; GB/T 5.3-5.6, Annex C)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from consent_service.consent.models import ConsentEvent, ConsentState
from consent_service.consent.state import StateView, fold
from consent_service.consent.subjects import find_subject, is_minor
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import (
    LEGAL_BASIS_CLAUSES,
    PolicyVersion,
    Purpose,
    PurposeVersion,
    policy_purpose_version,
)

#: Every answer names one of these.
REASONS = (
    "legal_basis",  # allowed on a basis other than consent (PIPL 13(2)-(7))
    "consent_granted",
    "not_given",
    "refused",
    "withdrawn",
    "expired",
    "reconsent_required",  # purpose or policy changed materially (PIPL 14, 17)
    "guardian_required",  # under 14 without a guardian's consent (PIPL 31)
    "unknown_subject",
    "unknown_purpose",
)


@dataclass(frozen=True)
class Decision:
    """The answer to "may I process this for that purpose?" with its grounds."""

    allowed: bool
    reason: str
    basis: str | None
    basis_clause: str | None
    purpose_version: int | None
    consent_event_id: str | None
    expires_at: datetime | None
    checked_at: datetime
    reprompt_after: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data with ISO datetimes (what the API's DecisionOut gives)."""
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "basis": self.basis,
            "basis_clause": self.basis_clause,
            "purpose_version": self.purpose_version,
            "consent_event_id": self.consent_event_id,
            "expires_at": iso(self.expires_at),
            "checked_at": iso(self.checked_at),
            "reprompt_after": iso(self.reprompt_after),
        }


def iso(value: datetime | None) -> str | None:
    """A time as the API writes it (ISO 8601), or ``None``."""
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class _Rules:
    """A purpose as it stood at one moment."""

    version: PurposeVersion
    material_version: int
    reconsent_policy_seq: int


def _rules_at(purpose: Purpose, at: datetime, now: datetime) -> _Rules | None:
    """The purpose's version and re-consent thresholds at ``at`` (``None``: did not exist)."""
    if at >= now:
        return _Rules(purpose.current, purpose.material_version, purpose.reconsent_policy_seq)
    versions = [v for v in purpose.versions if v.created_at <= at]
    if not versions:
        return None
    material = max(v.version for v in versions if v.is_material)
    seq = db.session.scalar(
        select(PolicyVersion.seq)
        .join(policy_purpose_version, policy_purpose_version.c.policy_id == PolicyVersion.id)
        .join(PurposeVersion, PurposeVersion.id == policy_purpose_version.c.purpose_version_id)
        .where(
            PurposeVersion.purpose_id == purpose.id,
            PolicyVersion.is_material_change,
            PolicyVersion.published_at <= at,
        )
        .order_by(PolicyVersion.seq.desc())
        .limit(1)
    )
    return _Rules(versions[-1], material, seq or 0)


def _state_at(subject_id: int, purpose_id: int, at: datetime, now: datetime) -> StateView | None:
    """The current state row, or for a past moment the history folded up to it."""
    if at >= now:
        row = db.session.get(ConsentState, (subject_id, purpose_id))
        return None if row is None else StateView.of(row)
    events = db.session.scalars(
        select(ConsentEvent)
        .where(
            ConsentEvent.subject_id == subject_id,
            ConsentEvent.purpose_id == purpose_id,
            ConsentEvent.occurred_at <= at,
            ConsentEvent.recorded_at <= now,
        )
        .order_by(ConsentEvent.seq)
    )
    return fold(events)


@dataclass(frozen=True)
class Facts:
    """Everything a decision rests on; gathered by :func:`decide` or by the API's one query."""

    purpose_known: bool
    subject_known: bool
    basis: str | None = None
    purpose_version: int | None = None
    material_version: int = 0
    reconsent_policy_seq: int = 0
    is_minor: bool = False
    state: StateView | None = None


def evaluate(facts: Facts, at: datetime, now: datetime, reprompt_hours: int) -> Decision:
    """The rules, in order, each with its clause; a pure function of the facts."""

    def answer(reason: str, allowed: bool = False, **extra: Any) -> Decision:
        return Decision(
            allowed=allowed,
            reason=reason,
            basis=facts.basis,
            basis_clause=LEGAL_BASIS_CLAUSES.get(facts.basis) if facts.basis else None,
            purpose_version=facts.purpose_version,
            consent_event_id=extra.get("event_id"),
            expires_at=extra.get("expires_at"),
            checked_at=now,
            reprompt_after=extra.get("reprompt_after"),
        )

    if not facts.purpose_known:
        return answer("unknown_purpose")
    if not facts.subject_known:
        return answer("unknown_subject")
    if facts.basis != "consent":  # PIPL 13(2)-(7): no consent needed; PIPL 16: withdrawal has no effect
        return answer("legal_basis", allowed=True)
    state = facts.state
    if state is None:
        return answer("guardian_required" if facts.is_minor else "not_given")
    event_id = state.event_uuid
    if state.status == "refused":  # GB/T C.4 b): not to be asked again for 48 hours
        return answer(
            "refused", event_id=event_id, reprompt_after=state.refused_at + timedelta(hours=reprompt_hours)
        )
    if state.status == "withdrawn":  # PIPL 15
        return answer("withdrawn", event_id=event_id)
    if state.status == "expired":
        return answer("expired", event_id=event_id)
    if state.status == "invalidated":
        return answer("reconsent_required", event_id=event_id)
    if facts.is_minor and not state.is_guardian_act:  # PIPL 31
        return answer("guardian_required", event_id=event_id)
    if state.purpose_version < facts.material_version or state.policy_seq < facts.reconsent_policy_seq:
        return answer("reconsent_required", event_id=event_id)  # PIPL 14, 17
    if state.expires_at is not None and state.expires_at <= at:
        return answer("expired", event_id=event_id, expires_at=state.expires_at)
    return answer("consent_granted", allowed=True, event_id=event_id, expires_at=state.expires_at)


def decide(
    org: Organization, subject_external_id: str, purpose_code: str, at: datetime, now: datetime
) -> Decision:
    """Decide for one (subject, purpose) at ``at``, using what the ledger knows at ``now``.

    This reads through the session (so it sees what the caller's transaction wrote) and knows
    the past. :mod:`consent_service.consent.hotpath` is its SQL back end for the present and
    the future, one statement per call or per batch; a property test holds the two equal.
    """
    reprompt_hours = current_app.config["REPROMPT_AFTER_REFUSAL_HOURS"]
    purpose = db.session.scalars(
        select(Purpose).where(Purpose.org_id == org.id, Purpose.code == purpose_code)
    ).first()
    rules = _rules_at(purpose, at, now) if purpose is not None else None
    if rules is None:
        return evaluate(Facts(purpose_known=False, subject_known=False), at, now, reprompt_hours)
    known = {
        "purpose_known": True,
        "basis": rules.version.legal_basis,
        "purpose_version": rules.version.version,
        "material_version": rules.material_version,
        "reconsent_policy_seq": rules.reconsent_policy_seq,
    }
    subject = find_subject(org, subject_external_id)
    if subject is None or rules.version.legal_basis != "consent":
        return evaluate(Facts(subject_known=subject is not None, **known), at, now, reprompt_hours)
    state = _state_at(subject.id, purpose.id, at, now)
    facts = Facts(subject_known=True, is_minor=is_minor(subject, org, at), state=state, **known)
    return evaluate(facts, at, now, reprompt_hours)
