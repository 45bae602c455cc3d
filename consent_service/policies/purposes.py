"""Processing purposes (处理目的), versioned (PIPL 14; GB/T 5.3, 5.4).

Functions flush, never commit; bad input raises a :mod:`consent_service.errors` error. A
change that is material (purpose, method, PI or recipients) queues ``purpose.changed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consent_service.changes import note as note_change
from consent_service.errors import InvalidInput, NotFound, PurposeExists
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.organizations.service import categories_by_code
from consent_service.policies.models import Purpose, PurposeVersion
from consent_service.policies.schemas import PurposeContentSchema, PurposeCreateSchema
from consent_service.webhooks.service import emit

#: A change to any of these is a change of purpose, method, PI or recipients (PIPL 14):
#: a new material version whose earlier consents stop counting.
MATERIAL_FIELDS = (
    "description_zh",
    "description_en",
    "processing_method_zh",
    "processing_method_en",
    "function_kind",
    "legal_basis",
    "consent_requirement",
    "pi_categories",
    "recipients",
    "cross_border_recipients",
    "is_publicly_disclosed",
    "retention_days",
)
CONTENT_FIELDS = tuple(PurposeContentSchema().fields)


def validation_details(error: ValidationError) -> dict[str, Any]:
    """A marshmallow error's messages as per-field details."""
    messages = error.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}


def _content(data: dict[str, Any]) -> dict[str, Any]:
    """Complete derived fields of a purpose version's content."""
    categories = categories_by_code(list(dict.fromkeys(data["pi_categories"])))
    content = {name: data.get(name) for name in CONTENT_FIELDS}
    content["pi_categories"] = list(categories)
    content["is_sensitive"] = any(c.is_sensitive for c in categories.values())
    return content


def _check_separate(content: dict[str, Any]) -> None:
    """A consent purpose that needs separate consent must ask for it (PIPL 23, 25, 29, 39)."""
    if content["legal_basis"] != "consent":
        return
    reasons = []
    if content["is_sensitive"]:
        reasons.append("sensitive PI (PIPL 29)")
    if content["recipients"]:
        reasons.append("provision to another handler (PIPL 23)")
    if content["is_publicly_disclosed"]:
        reasons.append("public disclosure (PIPL 25)")
    if content["cross_border_recipients"]:
        reasons.append("cross-border provision (PIPL 39)")
    if reasons and content["consent_requirement"] not in ("separate", "written"):
        raise InvalidInput(
            "this purpose needs separate consent",
            {"consent_requirement": ["must be separate or written: " + "; ".join(reasons)]},
        )


def create_purpose(org: Organization, data: dict[str, Any], now: datetime) -> Purpose:
    """Create a processing purpose (处理目的) with its first version."""
    try:
        loaded = PurposeCreateSchema().load(data)
    except ValidationError as exc:
        raise InvalidInput("invalid purpose", validation_details(exc)) from exc
    content = _content(loaded)
    _check_separate(content)
    if db.session.scalar(select(Purpose.id).where(Purpose.org_id == org.id, Purpose.code == loaded["code"])):
        raise PurposeExists(f"purpose {loaded['code']!r} exists")
    purpose = Purpose(
        org_id=org.id,
        code=loaded["code"],
        current_version=1,
        material_version=1,
        reconsent_policy_seq=0,
        created_at=now,
    )
    db.session.add(purpose)
    db.session.flush()
    db.session.add(
        PurposeVersion(purpose_id=purpose.id, version=1, is_material=True, created_at=now, **content)
    )
    db.session.flush()
    db.session.refresh(purpose)
    note_change(f"purpose:{purpose.code}", None, {"version": 1})
    return purpose


def get_purpose(org: Organization, code: str) -> Purpose:
    """The purpose ``code`` of ``org``; :class:`NotFound` otherwise."""
    purpose = db.session.scalars(
        select(Purpose).where(Purpose.org_id == org.id, Purpose.code == code)
    ).first()
    if purpose is None:
        raise NotFound(f"no purpose {code!r}")
    return purpose


def current_versions(org: Organization, codes: list[str] | None = None) -> dict[str, PurposeVersion]:
    """The current version of each purpose of ``org`` (of those ``codes`` only, if given), by
    code, in one statement; each version's ``purpose`` is loaded with it."""
    query = (
        select(Purpose, PurposeVersion)
        .join(
            PurposeVersion,
            (PurposeVersion.purpose_id == Purpose.id) & (PurposeVersion.version == Purpose.current_version),
        )
        .where(Purpose.org_id == org.id)
    )
    if codes is not None:
        query = query.where(Purpose.code.in_(codes))
    return {purpose.code: version for purpose, version in db.session.execute(query)}


def list_purposes(org: Organization) -> list[Purpose]:
    """The organization's purposes by code."""
    # Their versions in one more statement (every answer shows each purpose's current one).
    query = select(Purpose).where(Purpose.org_id == org.id).options(selectinload(Purpose.versions))
    return list(db.session.scalars(query.order_by(Purpose.code)))


def change_purpose(
    org: Organization, code: str, changes: dict[str, Any], now: datetime, note: str | None = None
) -> PurposeVersion:
    """Change a purpose: a new version, material if purpose, method, PI or recipients change.

    After a material change (PIPL 14) consents to earlier versions stop counting until the
    person consents again. A change that changes nothing is refused.
    """
    purpose = get_purpose(org, code)
    current = purpose.current
    if not isinstance(changes, dict):
        raise InvalidInput("invalid change", {"_schema": ["must be an object"]})
    merged = {name: getattr(current, name) for name in CONTENT_FIELDS}
    merged.update(changes)
    try:
        loaded = PurposeContentSchema().load(merged)
    except ValidationError as exc:
        raise InvalidInput("invalid purpose change", validation_details(exc)) from exc
    content = _content(loaded)
    _check_separate(content)
    before = {name: getattr(current, name) for name in content}
    changed = [name for name in content if content[name] != before[name]]
    if not changed:
        raise InvalidInput("nothing changed", {"_schema": ["the change leaves the purpose as it is"]})
    is_material = any(name in MATERIAL_FIELDS for name in changed)
    version = PurposeVersion(
        purpose_id=purpose.id,
        version=purpose.current_version + 1,
        is_material=is_material,
        change_note=note,
        created_at=now,
        **content,
    )
    db.session.add(version)
    purpose.current_version = version.version
    if is_material:
        purpose.material_version = version.version
    db.session.flush()
    db.session.refresh(purpose)
    note_change(
        f"purpose:{purpose.code}",
        {"version": version.version - 1},
        {"version": version.version, "is_material": is_material, "changed": changed},
    )
    emit(
        org,
        "purpose.changed",
        {"code": purpose.code, "version": purpose.current_version, "is_material": version.is_material},
        now,
    )
    return version
