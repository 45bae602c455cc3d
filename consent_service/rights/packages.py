"""Stored packages (PIPL 45, GB/T 35273 8.1, 8.6): a built zip kept encrypted behind a link
that expires, each download on the request's timeline, the content deleted once the link has
expired (GB/T 6.1). Functions write and flush; the caller's unit of work commits.

The link's token is 256 random bits, kept only as an HMAC keyed by the secret: neither the
table nor a backup holds a working link. The zip is Fernet-encrypted (``secrets_box``, a key of
its own derived from the secret), base64 inside since the box seals text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from consent_service import secrets_box
from consent_service.database import skipping_locked
from consent_service.errors import DomainError, NotFound
from consent_service.extensions import db
from consent_service.ids import uuid7
from consent_service.organizations.models import Organization
from consent_service.rights.models import RightsPackage, RightsRequest
from consent_service.rights.timeline import SYSTEM, Actor, record, step

#: Label of the package content's encryption.
CONTENT = b"consent-rights-package"
#: Who fetches a package: whoever holds its link (the requester it was sent to).
LINK_HOLDER = Actor("link")


class PackageNotFound(NotFound):
    """No package has this link."""

    code = "package_not_found"


class PackageGone(DomainError):
    """The package's link has expired, and its content is (or will shortly be) deleted."""

    code = "package_gone"
    status = 410

    def __init__(self, message: str, language: str) -> None:
        """Keep the request's language, so the page can say it in the requester's words."""
        super().__init__(message)
        self.language = language


@dataclass(frozen=True)
class Download:
    """A package fetched: the zip, and what its answer is named after."""

    content: bytes
    request_public_id: str
    package: RightsPackage


def token_hash(token: str) -> str:
    """The keyed hash kept of a link's token (HMAC-SHA256; the key derived from the secret)."""
    key = hashlib.sha256(current_app.config["SECRET_KEY"].encode() + b"consent-rights-package-link").digest()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def package_url(token: str) -> str:
    """The absolute link of a package (``BASE_URL``)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/rights/packages/{token}"


def create(
    org: Organization, request: RightsRequest, zip_bytes: bytes, now: datetime, *, actor: Actor = SYSTEM
) -> tuple[RightsPackage, str]:
    """Store ``zip_bytes`` for ``request`` until ``RIGHTS_PACKAGE_DAYS`` from ``now`` and
    return the package and its link; the step ``package`` goes on the request's timeline. The
    link is returned once and never stored: send it, do not log it."""
    if request.org_id != org.id:
        raise NotFound(f"no rights request {request.public_id!r}")
    token = secrets.token_urlsafe(32)
    package = RightsPackage(
        public_id="rp_" + uuid7().replace("-", "")[:24],
        org_id=org.id,
        request_id=request.id,
        token_hash=token_hash(token),
        content_encrypted=secrets_box.encrypt(base64.b64encode(zip_bytes).decode(), CONTENT),
        sha256=hashlib.sha256(zip_bytes).hexdigest(),
        size=len(zip_bytes),
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["RIGHTS_PACKAGE_DAYS"]),
        downloads=0,
    )
    db.session.add(package)
    db.session.flush()
    step(request, "package", actor, package.public_id, now)
    return package, package_url(token)


def _for_update(query):
    """Lock the rows read on PostgreSQL; SQLite's write transaction already holds its lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        return query.with_for_update()
    return query


def download(token: str, now: datetime, *, is_counted: bool = True) -> Download:
    """The zip behind ``token``, its download counted and put on the request's timeline (unless
    ``is_counted`` is false: a HEAD, which fetches nothing); :class:`PackageNotFound` for an
    unknown link, :class:`PackageGone` past its expiry."""
    package = db.session.scalars(
        _for_update(select(RightsPackage).where(RightsPackage.token_hash == token_hash(token)))
    ).first()
    if package is None:
        raise PackageNotFound("no package has this link")
    # The request is locked too: its timeline numbers its steps from the row's count.
    request = db.session.scalars(
        _for_update(select(RightsRequest).where(RightsRequest.id == package.request_id))
    ).one()
    if package.content_encrypted is None or package.expires_at <= now:
        raise PackageGone("this package's link has expired", request.language)
    content = base64.b64decode(secrets_box.decrypt(package.content_encrypted, CONTENT))
    if is_counted:
        package.downloads += 1
        package.last_downloaded_at = now
        status = request.status
        record(request, "package_download", status, status, LINK_HOLDER, package.public_id, now)
    return Download(content, request.public_id, package)


def purge(now: datetime, limit: int = 1000) -> int:
    """Delete the content of packages past their expiry (GB/T 6.1), keeping the row (request,
    times, SHA-256, downloads) as the record; return how many. Idempotent; on PostgreSQL two
    runs at once take different rows (``FOR UPDATE SKIP LOCKED``)."""
    query = (
        select(RightsPackage)
        .where(RightsPackage.purged_at.is_(None), RightsPackage.expires_at <= now)
        .order_by(RightsPackage.id)
        .limit(limit)
    )
    query = skipping_locked(db.session, query)
    return _purge(db.session.scalars(query).all(), now)


def purge_for(request_ids: list[int], now: datetime) -> int:
    """Delete at once the content of the packages of these requests (the person was erased);
    their links then answer 410 like expired ones."""
    query = select(RightsPackage).where(
        RightsPackage.request_id.in_(request_ids), RightsPackage.purged_at.is_(None)
    )
    return _purge(db.session.scalars(query).all(), now)


def _purge(packages: list[RightsPackage], now: datetime) -> int:
    for package in packages:
        package.content_encrypted = None
        package.purged_at = now
    db.session.flush()
    return len(packages)
