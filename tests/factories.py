"""Factories for domain objects, with realistic defaults that a test overrides."""

from __future__ import annotations

import itertools
from typing import Any

from consent_service.consent import service as consent
from consent_service.consent import subjects
from consent_service.organizations import service as organizations
from consent_service.policies import purposes
from consent_service.policies import service as policies

_counter = itertools.count(1)

SECTIONS = {
    key: {"zh": f"{key} 中文内容", "en": f"{key} in English"}
    for key in ("rights", "refusal_consequences", "security_measures", "complaints")
}


def make_org(now, slug: str | None = None, **overrides: Any):
    options = {
        "name_en": "Example Shop",
        "name_zh": "示例商店",
        "contact_email": "privacy@shop.example",
        "pipo_name": "Officer",
        "pipo_contact": "pipo@shop.example",
    } | overrides
    return organizations.create_organization(slug or f"org-{next(_counter)}", now, **options)


def purpose_data(code: str, **overrides: Any) -> dict[str, Any]:
    """A consent-based extended purpose with explicit consent, unless overridden."""
    data = {
        "code": code,
        "name_zh": f"{code} 中文",
        "name_en": f"{code} name",
        "description_zh": "描述",
        "description_en": "description",
        "processing_method_zh": "方式",
        "processing_method_en": "method",
        "function_kind": "extended",
        "legal_basis": "consent",
        "consent_requirement": "explicit",
        "pi_categories": ["basic"],
        "retention_days": 365,
    }
    data.update(overrides)
    return data


def make_purpose(org, now, code: str = "marketing", **overrides: Any):
    return purposes.create_purpose(org, purpose_data(code, **overrides), now)


def make_sensitive_purpose(org, now, code: str = "face"):
    return make_purpose(org, now, code, pi_categories=["biometric"], consent_requirement="separate")


def make_contract_purpose(org, now, code: str = "orders"):
    return make_purpose(
        org, now, code, function_kind="basic", legal_basis="contract", consent_requirement="none"
    )


def make_subject(org, now, external_id: str | None = None, **fields: Any):
    return subjects.upsert_subject(org, external_id or f"user-{next(_counter)}", now, **fields)


def publish_policy(org, now, label: str = "v1", **overrides: Any):
    data = {
        "label": label,
        "text_zh": "政策正文",
        "text_en": "Policy text",
        "sections": SECTIONS,
        "purposes": [p.code for p in purposes.list_purposes(org)],
    } | overrides
    policies.create_policy(org, data, now)
    return policies.publish_policy(org, label, now)


def grant(org, subject, now, *purposes: str, **options: Any):
    options.setdefault("consent_type", "explicit")
    return consent.record_act(org, subject, now, purposes=list(purposes), action="grant", **options)


def act(org, subject, now, action: str, *purposes: str, **options: Any):
    return consent.record_act(org, subject, now, purposes=list(purposes), action=action, **options)
