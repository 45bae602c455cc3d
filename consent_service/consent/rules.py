"""The rules a consent act must meet, each with its clause (PIPL 13-17, 23, 25, 29, 31, 39;
GB/T 35273 5.3-5.6, Annex C.4 b).

Pure checks on what the planner (:mod:`consent_service.consent.service`) has loaded: they raise
a domain error and write nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from consent_service.consent.models import ACTOR_KINDS, COLLECTION_METHODS, CONSENT_TYPES
from consent_service.consent.rows import Chain
from consent_service.consent.state import StateView
from consent_service.consent.subjects import is_minor
from consent_service.consent.writer import Actor
from consent_service.errors import (
    ConsentNotApplicable,
    ConsentTypeInsufficient,
    GuardianRequired,
    InvalidInput,
    RepromptTooSoon,
    SeparateConsentRequired,
    StalePolicyVersion,
)
from consent_service.extensions import db
from consent_service.memo import remembered
from consent_service.organizations.models import Organization
from consent_service.policies.models import CONSENT_REQUIREMENTS, PolicyVersion, PurposeVersion

#: Acts a caller may record; ``expire`` is written by the expiry sweep only.
CALLER_ACTIONS = ("grant", "withdraw", "refuse", "invalidate")
#: How strong each consent type is, against CONSENT_REQUIREMENTS.
CONSENT_TYPE_RANK = {"implied": 1, "explicit": 2, "separate": 3, "written": 4}
REQUIREMENT_RANK = {name: rank for rank, name in enumerate(CONSENT_REQUIREMENTS)}
#: How far in the future an ``occurred_at`` may be (clock skew between systems).
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: The earliest an act may have happened: an earlier time is a mistake (a zero date, a
#: two-digit year), not a consent from before personal-information law and the web.
EARLIEST_ACT = datetime(2000, 1, 1, tzinfo=UTC)
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
EVIDENCE_KEYS = {"ip", "user_agent", "locale", "notice_sha256", "document_ref", "note"}


def validate_act(
    action: str,
    consent_type: str | None,
    method: str,
    actor: Actor,
    evidence: dict[str, Any],
    occurred_at: datetime,
    purposes: list[str],
    now: datetime,
) -> None:
    """Check every field of an act; :class:`InvalidInput` names each bad one."""
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
    elif occurred_at < EARLIEST_ACT:
        errors["occurred_at"] = [f"is before {EARLIEST_ACT.date().isoformat()}"]
    if not purposes or not all(isinstance(p, str) and p for p in purposes):
        errors["purposes"] = ["name at least one purpose"]
    elif len(set(purposes)) != len(purposes):
        errors["purposes"] = ["a purpose is named twice"]
    if errors:
        raise InvalidInput("invalid consent act", errors)


def policy_for(org: Organization, label: str | None, at: datetime) -> PolicyVersion | None:
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


def check_grant(
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


def in_force(state: StateView | None) -> bool:
    """A grant is in force for this state (what a withdrawal can end, PIPL 15)."""
    return state is not None and state.status == "granted"
