"""The one decision function: may this organization process this person's information for
this purpose at this moment, and why (PIPL 13-16, 29, 31; GB/T 5.3-5.6, Annex C)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from consent_service.consent.models import ConsentEvent, ConsentState
from consent_service.consent.service import find_subject, is_minor
from consent_service.consent.state import StateView, fold
from consent_service.extensions import db
from consent_service.policies.models import (
    LEGAL_BASIS_CLAUSES,
    Organization,
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
        """Plain data with ISO datetimes."""
        out = asdict(self)
        for key in ("expires_at", "checked_at", "reprompt_after"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


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


def _state_at(
    subject_id: int, purpose_id: int, at: datetime, now: datetime
) -> StateView | ConsentState | None:
    """The current state row, or for a past moment the history folded up to it."""
    if at >= now:
        return db.session.get(ConsentState, (subject_id, purpose_id))
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


def decide(
    org: Organization, subject_external_id: str, purpose_code: str, at: datetime, now: datetime
) -> Decision:
    """Decide for one (subject, purpose) at ``at``, using what the ledger knows at ``now``."""
    purpose = db.session.scalars(
        select(Purpose).where(Purpose.org_id == org.id, Purpose.code == purpose_code)
    ).first()
    rules = _rules_at(purpose, at, now) if purpose is not None else None

    def answer(reason: str, allowed: bool = False, **extra: Any) -> Decision:
        version = rules.version if rules else None
        basis = version.legal_basis if version else None
        return Decision(
            allowed=allowed,
            reason=reason,
            basis=basis,
            basis_clause=LEGAL_BASIS_CLAUSES.get(basis) if basis else None,
            purpose_version=version.version if version else None,
            consent_event_id=extra.get("event_id"),
            expires_at=extra.get("expires_at"),
            checked_at=now,
            reprompt_after=extra.get("reprompt_after"),
        )

    if rules is None:
        return answer("unknown_purpose")
    subject = find_subject(org, subject_external_id)
    if subject is None:
        return answer("unknown_subject")
    if rules.version.legal_basis != "consent":
        return answer("legal_basis", allowed=True)
    state = _state_at(subject.id, purpose.id, at, now)
    minor = is_minor(subject, org, at)
    if state is None:
        return answer("guardian_required" if minor else "not_given")
    event_uuid = db.session.scalar(select(ConsentEvent.uuid).where(ConsentEvent.id == state.event_id))
    if state.status == "refused":
        window = timedelta(hours=current_app.config["REPROMPT_AFTER_REFUSAL_HOURS"])
        return answer("refused", event_id=event_uuid, reprompt_after=state.refused_at + window)
    if state.status == "withdrawn":
        return answer("withdrawn", event_id=event_uuid)
    if state.status == "expired":
        return answer("expired", event_id=event_uuid)
    if state.status == "invalidated":
        return answer("reconsent_required", event_id=event_uuid)
    # Granted: does it still count?
    if minor and not state.is_guardian_act:
        return answer("guardian_required", event_id=event_uuid)
    if state.purpose_version < rules.material_version or state.policy_seq < rules.reconsent_policy_seq:
        return answer("reconsent_required", event_id=event_uuid)
    if state.expires_at is not None and state.expires_at <= at:
        return answer("expired", event_id=event_uuid, expires_at=state.expires_at)
    return answer("consent_granted", allowed=True, event_id=event_uuid, expires_at=state.expires_at)
