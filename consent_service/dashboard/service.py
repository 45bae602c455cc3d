"""Dashboard hand-off: a company signs its user into the dashboard with a one-time link."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from consent_service.consent.models import Subject
from consent_service.dashboard.models import DashboardLink
from consent_service.errors import DomainError
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.tokens import hash_secret


class LinkInvalid(DomainError):
    """The link is unknown, used or expired."""

    code = "link_invalid"
    status = 410


def create_link(org: Organization, subject: Subject, now: datetime) -> tuple[str, datetime]:
    """A single-use link valid ``DASHBOARD_LINK_MINUTES``; return its URL and expiry."""
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=current_app.config["DASHBOARD_LINK_MINUTES"])
    db.session.add(
        DashboardLink(
            token_hash=hash_secret(token),
            org_id=org.id,
            subject_id=subject.id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    db.session.flush()
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/dashboard/enter/{token}", expires_at


def redeem_link(token: str, now: datetime) -> Subject:
    """Use the link once; :class:`LinkInvalid` if unknown, used or expired.

    The update is conditional, so two simultaneous clicks cannot both succeed.
    """
    link = db.session.scalars(
        select(DashboardLink).where(DashboardLink.token_hash == hash_secret(token))
    ).first()
    if link is None or link.expires_at <= now:
        raise LinkInvalid("this link is not valid; ask for a new one")
    claimed = db.session.execute(
        update(DashboardLink)
        .where(DashboardLink.id == link.id, DashboardLink.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise LinkInvalid("this link was already used; ask for a new one")
    db.session.flush()
    return db.session.get(Subject, link.subject_id)


def delete_links(subject_id: int) -> int:
    """Delete every hand-off link of a person whose information is erased (PIPL 47); return
    how many (what :class:`~consent_service.consent.erasure.SignInArtefacts` asks)."""
    deleted = db.session.execute(delete(DashboardLink).where(DashboardLink.subject_id == subject_id)).rowcount
    db.session.flush()
    return deleted
