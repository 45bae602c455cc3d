"""Purposes and privacy policies over the API (PIPL 14, 17; GB/T 5.5)."""

from __future__ import annotations

from consent_service.api.registry import Reply, operation
from consent_service.clock import utcnow
from consent_service.policies import service
from consent_service.policies.models import Organization
from consent_service.policies.schemas import (
    PolicyDraftSchema,
    PolicyListOut,
    PolicyOut,
    PublishOut,
    PurposeChangeSchema,
    PurposeCreateSchema,
    PurposeListOut,
    PurposeOut,
)
from consent_service.webhooks.service import emit


def _purpose_payload(purpose) -> dict:
    return {
        "code": purpose.code,
        "version": purpose.current_version,
        "is_material": purpose.current.is_material,
    }


@operation(
    "/purposes",
    scope="purposes:read",
    tag="Purposes",
    response=PurposeListOut(),
    summary="List purposes",
)
def list_purposes(org: Organization):
    """The organization's processing purposes (处理目的) with their current versions."""
    return {"purposes": service.list_purposes(org)}


@operation(
    "/purposes",
    "POST",
    scope="purposes:write",
    tag="Purposes",
    body=PurposeCreateSchema(),
    response=PurposeOut(),
    status=201,
    clause="PIPL 13, 14, 17; GB/T 5.3, 5.4",
    errors=(409,),
    summary="Create a purpose",
)
def create_purpose(org: Organization, body: dict):
    """Declare a purpose: legal basis, consent requirement, PI categories, recipients.

    Sensitive PI, recipients, public disclosure and cross-border transfer need a consent
    requirement of ``separate`` or ``written`` (PIPL 23, 25, 29, 39).
    """
    return service.create_purpose(org, body, utcnow())


@operation(
    "/purposes/<code>",
    scope="purposes:read",
    tag="Purposes",
    response=PurposeOut(),
    summary="Get a purpose",
)
def get_purpose(org: Organization, code: str):
    """A purpose with its current content and every version."""
    return service.get_purpose(org, code)


@operation(
    "/purposes/<code>",
    "PATCH",
    scope="purposes:write",
    tag="Purposes",
    body=PurposeChangeSchema(),
    response=PurposeOut(),
    clause="PIPL 14",
    summary="Change a purpose",
)
def change_purpose(org: Organization, code: str, body: dict):
    """Change a purpose. A change of purpose, method, PI categories or recipients is a new
    material version: consents to earlier versions stop counting until given again."""
    note = body.pop("change_note", None)
    now = utcnow()
    purpose = service.change_purpose(org, code, body, now, note=note).purpose
    emit(org, "purpose.changed", _purpose_payload(purpose), now)
    return purpose


@operation(
    "/policies",
    scope="purposes:read",
    tag="Policies",
    response=PolicyListOut(),
    summary="List privacy policy versions",
)
def list_policies(org: Organization):
    """Every policy version, drafts included, newest first."""
    return {"policies": service.list_policies(org)}


@operation(
    "/policies",
    "POST",
    scope="policies:write",
    tag="Policies",
    body=PolicyDraftSchema(),
    response=PolicyOut(),
    status=201,
    errors=(409,),
    clause="PIPL 17; GB/T 5.5",
    summary="Create a policy draft",
)
def create_policy(org: Organization, body: dict):
    """A draft covering the current versions of the named purposes."""
    return service.create_policy(org, body, utcnow())


@operation(
    "/policies/<version>/publish",
    "POST",
    scope="policies:write",
    tag="Policies",
    response=PublishOut(),
    errors=(409,),
    clause="PIPL 17; GB/T 5.5",
    summary="Publish a policy version",
)
def publish_policy(org: Organization, version: str):
    """Publish a draft. Refused (422 ``policy_incomplete``) with the list of missing items of
    the eight GB/T 5.5 requires; a material change marks earlier consents for re-consent."""
    now = utcnow()
    result = service.publish_policy(org, version, now)
    emit(
        org,
        "policy.published",
        {
            "version": result.policy.label,
            "is_material_change": result.policy.is_material_change,
            "reconsent_required": result.reconsent_required,
        },
        now,
    )
    return Reply(result)
