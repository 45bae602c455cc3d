"""Where published policies are read: the public pages of :mod:`consent_service.policies.views`.

Receipts and API answers link them, so the address of a policy version never changes.
"""

from __future__ import annotations

from flask import current_app

from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion


def policy_url(org: Organization, policy: PolicyVersion | None) -> str:
    """Where the policy the consent was given under can be read."""
    base = current_app.config["BASE_URL"].rstrip("/")
    if policy is None:
        return f"{base}/o/{org.slug}/policy"
    return f"{base}/o/{org.slug}/policy/{policy.label}"
