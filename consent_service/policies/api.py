"""Purposes and privacy policies over the API (PIPL 14, 17; GB/T 5.5)."""

from __future__ import annotations

from consent_service.api.registry import Reply, operation
from consent_service.clock import utcnow
from consent_service.organizations.models import Organization
from consent_service.policies import purposes, service
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


@operation(
    "/purposes",
    scope="purposes:read",
    tag="Purposes",
    response=PurposeListOut(),
    summary="List purposes",
)
def list_purposes(org: Organization):
    """The organization's processing purposes (处理目的) with their current versions."""
    return {"purposes": purposes.list_purposes(org)}


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
    return purposes.create_purpose(org, body, utcnow())


@operation(
    "/purposes/<code>",
    scope="purposes:read",
    tag="Purposes",
    response=PurposeOut(),
    summary="Get a purpose",
)
def get_purpose(org: Organization, code: str):
    """A purpose with its current content and every version."""
    return purposes.get_purpose(org, code)


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
    return purposes.change_purpose(org, code, body, utcnow(), note=note).purpose


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
    return Reply(service.publish_policy(org, version, utcnow()))
