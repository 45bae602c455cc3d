"""The archive of an organization's privacy policy (PIPL 17; GB/T 35273 5.5): every published
version in order, with when it was published and took effect, whether it was a material change
(consents before it were asked again, PIPL 14), what changed, the purposes it covered, and the
SHA-256 of its content as published, so a version handed over can be matched to the record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion

#: The clauses this record answers to.
CLAUSES = "PIPL 17; GB/T 35273 5.5"


def policy_archive(org: Organization) -> dict[str, Any]:
    """The published versions, oldest first, as plain data."""
    published = db.session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.org_id == org.id, PolicyVersion.status == "published")
        .order_by(PolicyVersion.seq)
    ).all()
    return {
        "clauses": CLAUSES,
        "versions": [
            {
                "label": policy.label,
                "seq": policy.seq,
                "published_at": policy.published_at.isoformat(),
                "effective_at": policy.effective_at.isoformat() if policy.effective_at else None,
                "material": bool(policy.is_material_change),
                "change_summary": policy.change_summary or "",
                "purposes": sorted(f"{v.purpose.code} v{v.version}" for v in policy.purpose_versions),
                "content_sha256": policy.content_sha256,
                "text_zh": policy.text_zh,
                "text_en": policy.text_en,
            }
            for policy in published
        ],
    }
