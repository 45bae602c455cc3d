"""Privacy policy versions: drafts, the eight items, publishing (PIPL 17; GB/T 5.5).

Functions flush, never commit; bad input raises a :mod:`consent_service.errors` error.
Publishing queues ``policy.published`` with the number of consents that now need re-consent,
which the ledger counts (:class:`ReconsentCounter`, provided at start-up).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from consent_service.changes import note as note_change
from consent_service.errors import InvalidInput, NotFound, PolicyIncomplete, PolicyNotDraft
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, Purpose, PurposeVersion
from consent_service.policies.purposes import CONTENT_FIELDS, get_purpose, validation_details
from consent_service.policies.schemas import PolicyDraftSchema
from consent_service.services import lookup
from consent_service.webhooks.service import emit


class ReconsentCounter(Protocol):
    """How many consents in force to these purposes were given under a policy published
    before ``policy_seq`` (the ledger answers: it holds the consents)."""

    def __call__(self, purpose_ids: list[int], policy_seq: int) -> int: ...


#: The prose items of PIPL 17 / GB/T 5.5 that a policy carries as sections.
POLICY_SECTIONS = ("rights", "refusal_consequences", "security_measures", "complaints")
#: The eight items GB/T 35273 5.5 / PIPL 17 require, as (key, zh, en).
POLICY_ITEMS = (
    (
        "handler",
        "个人信息处理者的名称和联系方式",
        "Handler identity and contact, with the PI protection officer",
    ),
    (
        "functions",
        "各业务功能及其收集的个人信息类型",
        "Each function with the PI it collects (sensitive marked)",
    ),
    (
        "collection_retention",
        "收集方式、存储期限及跨境传输",
        "Collection method, retention period, cross-border transfer",
    ),
    (
        "sharing",
        "共享、转让、公开披露的目的及接收方",
        "Sharing, transfer and disclosure: purpose and recipients",
    ),
    ("rights", "个人信息主体的权利及行使方式", "The subject's rights and how to exercise them"),
    ("refusal_consequences", "拒绝提供的风险及后果", "Risks and consequences of refusing"),
    ("security_measures", "个人信息安全保护措施", "Security measures"),
    ("complaints", "投诉、举报渠道", "Complaint channels"),
)
#: The clause each item comes from: GB/T 35273 5.5's list, item by item, and PIPL 17.
ITEM_CLAUSES = {
    "handler": "GB/T 35273 5.5 (1); PIPL 17(1)",
    "functions": "GB/T 35273 5.5 (2); PIPL 17(2)",
    "collection_retention": "GB/T 35273 5.5 (3); PIPL 17(2)",
    "sharing": "GB/T 35273 5.5 (4); PIPL 23",
    "rights": "GB/T 35273 5.5 (5); PIPL 17(3)",
    "refusal_consequences": "GB/T 35273 5.5 (6)",
    "security_measures": "GB/T 35273 5.5 (7)",
    "complaints": "GB/T 35273 5.5 (8)",
}


# --- privacy policies ----------------------------------------------------------------------


def _load_draft(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return PolicyDraftSchema().load(data)
    except ValidationError as exc:
        raise InvalidInput("invalid policy", validation_details(exc)) from exc


def _covered_versions(org: Organization, codes: list[str]) -> list[PurposeVersion]:
    return [get_purpose(org, code).current for code in dict.fromkeys(codes)]


def create_policy(org: Organization, data: dict[str, Any], now: datetime) -> PolicyVersion:
    """Create a draft privacy policy version covering the current versions of ``purposes``."""
    loaded = _load_draft(data)
    exists = db.session.scalar(
        select(PolicyVersion.id).where(PolicyVersion.org_id == org.id, PolicyVersion.label == loaded["label"])
    )
    if exists:
        raise PolicyNotDraft(f"policy version {loaded['label']!r} exists")
    policy = PolicyVersion(
        org_id=org.id,
        label=loaded["label"],
        status="draft",
        text_zh=loaded["text_zh"],
        text_en=loaded["text_en"],
        sections={k: dict(v) for k, v in loaded["sections"].items()},
        change_summary=loaded["change_summary"],
        is_material_change=loaded["is_material_change"],
        effective_at=loaded["effective_at"],
        created_at=now,
    )
    policy.purpose_versions = _covered_versions(org, loaded["purposes"])
    db.session.add(policy)
    db.session.flush()
    note_change(f"policy_version:{policy.label}", None, {"status": "draft"})
    return policy


def get_policy(org: Organization, label: str) -> PolicyVersion:
    """The policy version ``label`` of ``org``; :class:`NotFound` otherwise."""
    policy = db.session.scalars(
        select(PolicyVersion).where(PolicyVersion.org_id == org.id, PolicyVersion.label == label)
    ).first()
    if policy is None:
        raise NotFound(f"no policy version {label!r}")
    return policy


def current_policy(org: Organization, at: datetime) -> PolicyVersion | None:
    """The latest policy published at ``at``, or ``None``."""
    return db.session.scalars(
        select(PolicyVersion)
        .where(
            PolicyVersion.org_id == org.id,
            PolicyVersion.status == "published",
            PolicyVersion.published_at <= at,
        )
        .order_by(PolicyVersion.seq.desc())
        .limit(1)
    ).first()


def list_policies(org: Organization, *, published_only: bool = False) -> list[PolicyVersion]:
    """The organization's policy versions, newest first."""
    query = (
        select(PolicyVersion)
        .where(PolicyVersion.org_id == org.id)
        .options(selectinload(PolicyVersion.purpose_versions).selectinload(PurposeVersion.purpose))
    )
    if published_only:
        query = query.where(PolicyVersion.status == "published")
    return list(db.session.scalars(query.order_by(PolicyVersion.created_at.desc(), PolicyVersion.id.desc())))


def missing_items(policy: PolicyVersion) -> list[dict[str, Any]]:
    """What a policy lacks of the eight items of GB/T 35273 5.5 / PIPL 17, item by item."""
    org = policy.organization
    found: dict[str, list[str]] = {key: [] for key, _, _ in POLICY_ITEMS}
    if not (org.name_zh and org.name_en):
        found["handler"].append("the organization's name in Chinese and English")
    if not (org.contact_email or org.contact_phone or org.address):
        found["handler"].append("the organization's contact (email, phone or address)")
    if not org.pipo_contact:
        found["handler"].append("the PI protection officer's contact (PIPL 52)")
    if not (policy.text_zh.strip() and policy.text_en.strip()):
        found["handler"].append("the policy text in both Chinese and English")
    covered = {v.purpose_id: v for v in policy.purpose_versions}
    if not covered:
        found["functions"].append("the policy covers no purpose")
    for purpose in db.session.scalars(select(Purpose).where(Purpose.org_id == org.id)):
        version = covered.get(purpose.id)
        if version is None:
            found["functions"].append(f"purpose {purpose.code!r} is not covered")
        elif version.version != purpose.current_version:
            found["functions"].append(
                f"purpose {purpose.code!r} is covered at version {version.version}, "
                f"current is {purpose.current_version}"
            )
    for version in covered.values():
        code = version.purpose.code
        if not version.pi_categories:
            found["functions"].append(f"purpose {code!r} names no PI categories")
        if not (version.processing_method_zh and version.processing_method_en):
            found["collection_retention"].append(f"purpose {code!r}: collection and processing method")
        if not (version.retention_days or version.retention_note):
            found["collection_retention"].append(f"purpose {code!r}: retention period")
        for r in version.cross_border_recipients:
            if not all(r.get(k) for k in ("name", "country", "contact", "rights_channel")):
                found["collection_retention"].append(f"purpose {code!r}: an overseas recipient is incomplete")
        for r in version.recipients:
            if not all(r.get(k) for k in ("name", "contact", "purpose")):
                found["sharing"].append(f"purpose {code!r}: a recipient lacks name, contact or purpose")
    for key in POLICY_SECTIONS:
        section = (policy.sections or {}).get(key) or {}
        for lang in ("zh", "en"):
            if not str(section.get(lang) or "").strip():
                found[key].append(f"section {key!r} in {lang}")
    return [
        {"item": key, "title_zh": zh, "title_en": en, "missing": found[key]}
        for key, zh, en in POLICY_ITEMS
        if found[key]
    ]


def update_policy(org: Organization, label: str, data: dict[str, Any]) -> PolicyVersion:
    """Change a draft; published versions are immutable."""
    policy = get_policy(org, label)
    if policy.is_published:
        raise PolicyNotDraft(f"policy version {label!r} is published and cannot change")
    loaded = _load_draft({**data, "label": label})
    for name in ("text_zh", "text_en", "change_summary", "is_material_change", "effective_at"):
        if name in data:
            setattr(policy, name, loaded[name])
    if "sections" in data:
        policy.sections = {k: dict(v) for k, v in loaded["sections"].items()}
    if "purposes" in data:
        policy.purpose_versions = _covered_versions(org, loaded["purposes"])
    fields = sorted(name for name in data if name != "label")
    note_change(f"policy_version:{label}", {"status": "draft"}, {"status": "draft", "fields": fields})
    db.session.flush()
    return policy


def policy_content(policy: PolicyVersion) -> dict[str, Any]:
    """What a published policy says, as plain data (also what its SHA-256 covers)."""
    org = policy.organization
    return {
        "org": org.slug,
        "handler": {
            "name_zh": org.name_zh,
            "name_en": org.name_en,
            "email": org.contact_email,
            "phone": org.contact_phone,
            "address": org.address,
            "pipo_name": org.pipo_name,
            "pipo_contact": org.pipo_contact,
        },
        "label": policy.label,
        "text_zh": policy.text_zh,
        "text_en": policy.text_en,
        "sections": policy.sections,
        "purposes": [
            {"code": v.purpose.code, "version": v.version}
            | {name: getattr(v, name) for name in CONTENT_FIELDS}
            for v in policy.purpose_versions
        ],
        "change_summary": policy.change_summary,
        "is_material_change": policy.is_material_change,
    }


def _reconsent_purpose_ids(policy: PolicyVersion) -> list[int]:
    """The covered purposes whose consents a material change of ``policy`` sends to re-consent
    (those resting on consent; PIPL 13)."""
    return [v.purpose_id for v in policy.purpose_versions if v.legal_basis == "consent"]


def _next_seq(org: Organization) -> int:
    last_seq = db.session.scalar(select(func.max(PolicyVersion.seq)).where(PolicyVersion.org_id == org.id))
    return (last_seq or 0) + 1


@dataclass
class PublishPreview:
    """What publishing a draft would do now: the items that would refuse it, the purposes a
    material change sends to re-consent (their codes) and how many consents that is."""

    policy: PolicyVersion
    missing: list[dict[str, Any]]
    reconsent_purposes: list[str]
    reconsent_required: int


def publish_preview(org: Organization, label: str) -> PublishPreview:
    """What :func:`publish_policy` would do, without doing it (reads only; PIPL 14, 17).

    The consents are counted by the same :class:`ReconsentCounter` with the sequence the
    policy would take, so the number is the one publishing would report if nothing changes
    in between.
    """
    policy = get_policy(org, label)
    if policy.is_published:
        raise PolicyNotDraft(f"policy version {label!r} is already published")
    purposes, affected = [], 0
    if policy.is_material_change:
        purposes = [v.purpose.code for v in policy.purpose_versions if v.legal_basis == "consent"]
        affected = lookup(ReconsentCounter)(_reconsent_purpose_ids(policy), _next_seq(org))
    return PublishPreview(
        policy=policy, missing=missing_items(policy), reconsent_purposes=purposes, reconsent_required=affected
    )


@dataclass
class PublishResult:
    """A published policy and how many consents now need re-consent."""

    policy: PolicyVersion
    reconsent_required: int


def publish_policy(org: Organization, label: str, now: datetime) -> PublishResult:
    """Publish a draft (PIPL 17, GB/T 5.5): refused with the list of missing items.

    A material change marks every consent given under an earlier policy to a covered
    purpose as needing re-consent.
    """
    policy = get_policy(org, label)
    if policy.is_published:
        raise PolicyNotDraft(f"policy version {label!r} is already published")
    missing = missing_items(policy)
    if missing:
        raise PolicyIncomplete(
            "the policy lacks required items (PIPL 17, GB/T 35273 5.5): "
            + "; ".join(f"{m['item']}: {', '.join(m['missing'])}" for m in missing),
            missing,
        )
    db.session.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    policy.seq = _next_seq(org)
    policy.status = "published"
    policy.published_at = now
    policy.effective_at = policy.effective_at or now
    policy.content_sha256 = hashlib.sha256(
        json.dumps(policy_content(policy), sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()
    affected = 0
    if policy.is_material_change:
        purpose_ids = _reconsent_purpose_ids(policy)
        for purpose in db.session.scalars(select(Purpose).where(Purpose.id.in_(purpose_ids))):
            purpose.reconsent_policy_seq = policy.seq
        affected = lookup(ReconsentCounter)(purpose_ids, policy.seq)
    db.session.flush()
    note_change(
        f"policy_version:{label}",
        {"status": "draft"},
        {"status": "published", "seq": policy.seq, "reconsent_required": affected},
    )
    emit(
        org,
        "policy.published",
        {
            "version": policy.label,
            "is_material_change": policy.is_material_change,
            "reconsent_required": affected,
        },
        now,
    )
    return PublishResult(policy=policy, reconsent_required=affected)
