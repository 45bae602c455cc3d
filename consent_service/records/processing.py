"""The record of processing activities (个人信息处理活动记录, GB/T 35273 11.3; PIPL 51, 54) as
plain data, generated from what the service already knows: each purpose's current version
(its function, legal basis, PI categories with the sensitive ones marked, recipients,
transfers abroad, retention), how many people's consent is in force and withdrawn for it, the
data systems that hold its categories, and the staff by role. Read in a few set-based
queries; nothing is drawn here.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from consent_service.consent.models import ConsentState, Subject
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.organizations.service import categories_by_code
from consent_service.policies.purposes import current_versions
from consent_service.rights.systems import active
from consent_service.staff.models import StaffMember

#: The clauses this record answers to.
CLAUSES = "GB/T 35273 11.3; PIPL 51, 54"


def _consent_counts(org: Organization) -> dict[int, Counter]:
    """Per purpose id, how many states are in each status (one grouped query)."""
    rows = db.session.execute(
        select(ConsentState.purpose_id, ConsentState.status, func.count())
        .where(ConsentState.org_id == org.id)
        .group_by(ConsentState.purpose_id, ConsentState.status)
    )
    counts: dict[int, Counter] = {}
    for purpose_id, status, count in rows:
        counts.setdefault(purpose_id, Counter())[status] = count
    return counts


def processing_record(org: Organization, now: datetime) -> dict[str, Any]:
    """The record's data: ``activities`` (one per purpose), ``systems``, ``staff``, totals."""
    versions = current_versions(org)
    codes = sorted({code for v in versions.values() for code in v.pi_categories})
    catalogue = categories_by_code(codes) if codes else {}
    counts = _consent_counts(org)
    systems = active(org)
    activities = []
    for code, version in sorted(versions.items()):
        held = counts.get(version.purpose_id, Counter())
        categories = [
            {
                "code": code,
                "name_zh": catalogue[code].name_zh,
                "name_en": catalogue[code].name_en,
                "sensitive": bool(catalogue[code].is_sensitive),
            }
            for code in version.pi_categories
            if code in catalogue
        ]
        activities.append(
            {
                "purpose": code,
                "version": version.version,
                "name_zh": version.name_zh,
                "name_en": version.name_en,
                "function": version.function_kind,
                "legal_basis": version.legal_basis,
                "consent_requirement": version.consent_requirement,
                "categories": categories,
                "sensitive": bool(version.is_sensitive) or any(c["sensitive"] for c in categories),
                "recipients": [
                    {"name": r.get("name", ""), "purpose": r.get("purpose", "")}
                    for r in version.recipients or []
                ],
                "cross_border": [
                    {"name": r.get("name", ""), "country": r.get("country", "")}
                    for r in version.cross_border_recipients or []
                ],
                "publicly_disclosed": bool(version.is_publicly_disclosed),
                "retention_days": version.retention_days,
                "consents_in_force": held.get("granted", 0),
                "consents_withdrawn": held.get("withdrawn", 0),
                "systems": sorted(s.name for s in systems if set(s.categories) & set(version.pi_categories)),
            }
        )
    people = db.session.scalar(select(func.count()).select_from(Subject).where(Subject.org_id == org.id))
    staff = Counter(
        role
        for (role,) in db.session.execute(
            select(StaffMember.role).where(StaffMember.org_id == org.id, StaffMember.disabled_at.is_(None))
        )
    )
    return {
        "clauses": CLAUSES,
        "people": people or 0,
        "activities": activities,
        "systems": [
            {"name": s.name, "owner": s.owner, "categories": list(s.categories), "delivery": s.delivery}
            for s in systems
        ],
        "staff": dict(sorted(staff.items())),
        "as_of": now.isoformat(),
    }
