"""Organizations (个人信息处理者) and the PI category catalogue (GB/T 35273 Annex A/B).

Functions flush, never commit; bad input raises a :mod:`consent_service.errors` error.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from consent_service.errors import InvalidInput, NotFound, OrganizationExists
from consent_service.extensions import db
from consent_service.organizations.models import Organization, PICategory

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def create_organization(
    slug: str,
    now: datetime,
    *,
    name_en: str,
    name_zh: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    address: str | None = None,
    pipo_name: str | None = None,
    pipo_contact: str | None = None,
    default_regime: str = "PIPL",
    timezone: str = "Asia/Shanghai",
) -> Organization:
    """Create a personal-information handler (个人信息处理者)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(slug, str) or not SLUG.match(slug):
        errors["slug"] = ["2-63 lowercase letters, digits and hyphens"]
    if not isinstance(name_en, str) or not name_en.strip() or len(name_en) > 200:
        errors["name_en"] = ["must be 1-200 characters"]
    if name_zh is not None and (not name_zh.strip() or len(name_zh) > 200):
        errors["name_zh"] = ["must be 1-200 characters"]
    if contact_email is not None and "@" not in contact_email:
        errors["contact_email"] = ["is not an email address"]
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        errors["timezone"] = [f"unknown time zone {timezone!r}"]
    if default_regime not in ("PIPL", "GDPR"):
        errors["default_regime"] = ["must be PIPL or GDPR"]
    if errors:
        raise InvalidInput("invalid organization", errors)
    if db.session.scalar(select(Organization.id).where(Organization.slug == slug)):
        raise OrganizationExists(f"organization {slug!r} exists")
    org = Organization(
        slug=slug,
        name_en=name_en.strip(),
        name_zh=(name_zh or name_en).strip(),
        contact_email=contact_email,
        contact_phone=contact_phone,
        address=address,
        pipo_name=pipo_name,
        pipo_contact=pipo_contact,
        default_regime=default_regime,
        timezone=timezone,
        created_at=now,
    )
    db.session.add(org)
    db.session.flush()
    return org


def get_organization(slug: str) -> Organization:
    """The organization ``slug``; :class:`NotFound` otherwise."""
    org = db.session.scalars(select(Organization).where(Organization.slug == slug)).first()
    if org is None:
        raise NotFound(f"no organization {slug!r}")
    return org


# --- PI categories --------------------------------------------------------------------------


def load_catalogue() -> int:
    """Insert or refresh the GB/T 35273 Annex A/B catalogue; return the number of categories."""
    data = json.loads(
        resources.files("consent_service").joinpath("data/pi-categories.json").read_text("utf-8")
    )
    existing = {c.code: c for c in db.session.scalars(select(PICategory))}
    for item in data["categories"]:
        row = existing.get(item["code"]) or PICategory(code=item["code"])
        row.name_zh = item["zh"]
        row.name_en = item["en"]
        row.examples_zh = item.get("examples_zh")
        row.is_sensitive = bool(item.get("sensitive"))
        row.sensitive_items = item.get("sensitive_items", [])
        row.pipl28_kind = item.get("pipl28")
        row.kantara_categories = item.get("kantara", [])
        db.session.add(row)
    db.session.flush()
    return len(data["categories"])


def categories_by_code(codes: list[str]) -> dict[str, PICategory]:
    """The catalogue rows for ``codes``; :class:`InvalidInput` names any unknown code."""
    rows = {c.code: c for c in db.session.scalars(select(PICategory).where(PICategory.code.in_(codes)))}
    unknown = sorted(set(codes) - set(rows))
    if unknown:
        raise InvalidInput("unknown PI categories", {"pi_categories": [f"unknown: {', '.join(unknown)}"]})
    return rows


def list_organizations(slug: str | None = None) -> list[Organization]:
    """Every organization by slug (only ``slug``, if given)."""
    query = select(Organization).order_by(Organization.slug)
    if slug is not None:
        query = query.where(Organization.slug == slug)
    return list(db.session.scalars(query))
