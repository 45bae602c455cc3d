"""Subjects (个人信息主体): create and update them, find them, and the
guardian-consent age rule (PIPL 31, GB/T 5.4 d).

Functions flush but never commit.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consent_service.consent.models import Subject
from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.organizations.models import Organization


def upsert_subject(
    org: Organization,
    external_id: str,
    now: datetime,
    *,
    email: str | None = None,
    phone: str | None = None,
    birth_date: date | str | None = None,
    is_under_14: bool | None = None,
    guardian: dict[str, str | None] | None = None,
) -> Subject:
    """Create the subject ``external_id`` of ``org``, or update the fields given."""
    errors: dict[str, list[str]] = {}
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 200:
        errors["external_id"] = ["must be 1-200 characters"]
    if isinstance(birth_date, str):
        try:
            birth_date = date.fromisoformat(birth_date)
        except ValueError:
            errors["birth_date"] = ["must be a date, YYYY-MM-DD"]
    if isinstance(birth_date, date) and birth_date > now.date():
        errors["birth_date"] = ["is in the future"]
    if email is not None and (len(email) > 320 or "@" not in email):
        errors["email"] = ["is not an email address"]
    if phone is not None and not re.fullmatch(r"\+?[0-9 ()-]{3,64}", phone):
        errors["phone"] = ["is not a phone number"]
    guardian = guardian or {}
    unknown = set(guardian) - {"name", "contact", "relationship"}
    if unknown:
        errors["guardian"] = [f"unknown fields: {sorted(unknown)}"]
    if errors:
        raise InvalidInput("invalid subject", errors)

    subject = find_subject(org, external_id)
    if subject is None and _erased_under(org, external_id):
        raise Conflict(
            "this id is the pseudonym of an erased person (PIPL 47): nothing more is recorded under it",
            {"external_id": external_id},
        )
    if subject is None:
        subject = Subject(org_id=org.id, external_id=external_id, created_at=now, updated_at=now, chain_seq=0)
        try:
            with db.session.begin_nested():
                db.session.add(subject)
                db.session.flush()
        except IntegrityError:
            # Created at the same moment by another request: use that one.
            subject = find_subject(org, external_id)
            if subject is None:
                raise
    values = {"email": email, "phone": phone, "birth_date": birth_date, "is_under_14": is_under_14}
    for name, value in values.items():
        if value is not None:
            setattr(subject, name, value)
    for name in ("name", "contact", "relationship"):
        if guardian.get(name) is not None:
            setattr(subject, f"guardian_{name}", guardian[name])
    subject.updated_at = now
    db.session.flush()
    return subject


def find_subject(org: Organization, external_id: str) -> Subject | None:
    """The subject with this external id in ``org``, or ``None`` (an erased person, whose id
    is now a pseudonym, is found by nobody)."""
    return db.session.scalars(
        select(Subject).where(
            Subject.org_id == org.id, Subject.external_id == external_id, Subject.erased_at.is_(None)
        )
    ).first()


def _erased_under(org: Organization, external_id: str) -> bool:
    return (
        db.session.scalar(
            select(Subject.id).where(
                Subject.org_id == org.id, Subject.external_id == external_id, Subject.erased_at.is_not(None)
            )
        )
        is not None
    )


def get_subject(org: Organization, external_id: str) -> Subject:
    """The subject with this external id in ``org``; :class:`NotFound` otherwise."""
    subject = find_subject(org, external_id)
    if subject is None:
        raise NotFound(f"no subject {external_id!r}")
    return subject


def is_minor(subject: Subject, org: Organization, at: datetime) -> bool:
    """Whether the subject is under the guardian-consent age at ``at`` (PIPL 31, GB/T 5.4 d)."""
    return minor_at(subject.is_under_14, subject.birth_date, org.timezone, at)


def minor_at(is_under_14: bool, birth_date: date | None, timezone: str, at: datetime) -> bool:
    """The age rule on plain values: age counted on the date at ``at`` in ``timezone``."""
    if is_under_14:
        return True
    if birth_date is None:
        return False
    limit = current_app.config["GUARDIAN_CONSENT_UNDER_AGE"]
    today = at.astimezone(ZoneInfo(timezone)).date()
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return age < limit
