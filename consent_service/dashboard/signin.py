"""Signing in to the dashboard with a 6-digit code mailed to the person (issue 11 §1).

The person gives the address the organization holds for them; a code is mailed to it through
the outbox and entered on the next page. The answer, and the work behind it, are the same
whether or not the address is known (:class:`~.models.SignInCode` says how), so the form
cannot be used to learn who is a customer of the organization. Codes live
``DASHBOARD_CODE_MINUTES``, allow ``DASHBOARD_CODE_ATTEMPTS`` wrong entries and are single
use; a new one may be asked for once every ``DASHBOARD_CODE_RESEND_SECONDS`` and
``DASHBOARD_CODE_MAX_SENDS`` times an hour per address. An erased person never signs in.

Functions write and flush; the view's unit of work commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from consent_service.consent.models import Subject
from consent_service.dashboard import messages
from consent_service.dashboard.models import SignInCode
from consent_service.dashboard.service import delete_links
from consent_service.errors import DomainError, InvalidInput
from consent_service.extensions import db
from consent_service.mail.envelope import Envelope, normalize_address
from consent_service.mail.service import queue_mail
from consent_service.organizations.models import Organization
from consent_service.tokens import hash_secret

#: The labels that make the keys of the code and address hashes differ from every other key
#: derived from ``SECRET_KEY`` (the rights identity code's among them).
CODE_LABEL = b"consent-dashboard-sign-in-code"
ADDRESS_LABEL = b"consent-dashboard-sign-in-address"
#: The window of ``DASHBOARD_CODE_MAX_SENDS``.
SEND_WINDOW = timedelta(hours=1)
MAIL_KIND = "dashboard.sign_in_code"


class CodeNotSent(DomainError):
    """A new code was asked for too soon after the last, or too often in the hour."""

    code = "sign_in_code_not_sent"
    status = 429

    def __init__(self, message: str, retry_after: int, *, too_many: bool = False) -> None:
        """Say when a new code may be asked for, and whether the hour's sends are used up."""
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after
        self.too_many = too_many

    def problem_headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds."""
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class PendingSignIn:
    """Where a browser's pending sign-in stands: its organization, whether a code may still be
    entered, and how many wrong entries are left."""

    org: Organization
    is_open: bool
    attempts_left: int


@dataclass(frozen=True)
class Verification:
    """What entering a code did: ``signed_in`` (with the person), ``wrong`` (with the
    attempts left; none left means ``spent``) or ``spent`` (expired, used, out of attempts,
    or no pending sign-in at all: ``org`` is then ``None``)."""

    outcome: str
    org: Organization | None = None
    subject_id: int | None = None
    attempts_left: int = 0


def _key(label: bytes) -> bytes:
    return hashlib.sha256(current_app.config["SECRET_KEY"].encode() + label).digest()


def address_hash(org: Organization, address: str) -> str:
    """The keyed hash by which a normalized address is known in one organization (compared
    without regard to case, as the person lookup is)."""
    message = f"{org.id}:{address.lower()}".encode()
    return hmac.new(_key(ADDRESS_LABEL), message, hashlib.sha256).hexdigest()


def _code_hash(pending_hash: str, code: str) -> str:
    """A keyed hash of the code, bound to the pending sign-in it was made for."""
    return hmac.new(_key(CODE_LABEL), f"{pending_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def _person_with(org: Organization, address: str) -> tuple[int, str] | None:
    """The id and address on file of the one person of ``org`` not erased whose address is
    ``address``, or ``None``: an address two people share opens neither dashboard (whose would
    it be?)."""
    query = (
        select(Subject.id, Subject.email)
        .where(
            Subject.org_id == org.id,
            func.lower(Subject.email) == address.lower(),
            Subject.erased_at.is_(None),
        )
        .limit(2)
    )
    found = db.session.execute(query).all()
    return (found[0].id, found[0].email) if len(found) == 1 else None


def _check_resend(row: SignInCode, now: datetime) -> None:
    """Refuse a new code sooner than the settings allow (the hour's window starts again once
    it has passed)."""
    config = current_app.config
    if now - row.window_started_at >= SEND_WINDOW:
        row.sends = 0
        row.window_started_at = now
    if row.sends >= config["DASHBOARD_CODE_MAX_SENDS"]:
        wait = row.window_started_at + SEND_WINDOW - now
        raise CodeNotSent("too many codes this hour", max(1, int(wait.total_seconds())), too_many=True)
    ready = row.last_sent_at + timedelta(seconds=config["DASHBOARD_CODE_RESEND_SECONDS"])
    if now < ready:
        raise CodeNotSent("a code was sent moments ago", max(1, int((ready - now).total_seconds())))


def request_code(org: Organization, email: str, language: str, now: datetime) -> str:
    """Mail a sign-in code to the person of ``org`` whose address is ``email``, if there is
    one, and return the pending sign-in's opaque id for the browser's session.

    :class:`InvalidInput` names ``email`` if it is not an address; :class:`CodeNotSent` if
    the address asked for a code too recently or too often. Neither the result nor what is
    done before the outbox says whether anyone has the address (see :class:`SignInCode`).
    """
    address = normalize_address(email)
    if address is None:
        raise InvalidInput("invalid sign-in", {"email": ["is not an email address"]})
    digest = address_hash(org, address)
    person = _person_with(org, address)
    subject_id = person[0] if person is not None else None
    row = db.session.scalars(
        select(SignInCode).where(SignInCode.org_id == org.id, SignInCode.address_hash == digest)
    ).first()
    if row is None:
        row = SignInCode(org_id=org.id, address_hash=digest, created_at=now, sends=0, window_started_at=now)
        db.session.add(row)
    else:
        _check_resend(row, now)
    minutes = current_app.config["DASHBOARD_CODE_MINUTES"]
    pending = secrets.token_urlsafe(32)
    code = f"{secrets.randbelow(10**6):06d}"
    row.pending_hash = hash_secret(pending)
    row.subject_id = subject_id
    row.code_hash = _code_hash(row.pending_hash, code)
    row.expires_at = now + timedelta(minutes=minutes)
    row.attempts = 0
    row.sends += 1
    row.last_sent_at = now
    row.used_at = None
    language = "en" if language.lower().startswith("en") else "zh-CN"
    title, text = messages.sign_in_code(
        org.name_en if language == "en" else org.name_zh, code, minutes, language
    )
    if person is not None:
        # To the address the organization holds (the case of its local part as written there).
        queue_mail(
            normalize_address(person[1]) or address,
            title,
            text,
            kind=MAIL_KIND,
            org=org,
            language=language,
            now=now,
        )
    else:
        # The same checks and encryption as a queued mail, so that an unknown address costs
        # the same; the sealed text is dropped.
        Envelope.checked(
            address, title, text, html=None, language=language, reply_to=None, kind=MAIL_KIND
        ).seal()
    db.session.flush()
    return pending


def listed_organizations() -> list[Organization]:
    """The organizations of ``PUBLIC_ORGANIZATIONS`` that exist, in the order listed (the
    sign-in form's choice when no organization is named)."""
    listed = current_app.config["PUBLIC_ORGANIZATIONS"]
    if not listed:
        return []
    found = {o.slug: o for o in db.session.scalars(select(Organization).where(Organization.slug.in_(listed)))}
    return [found[slug] for slug in dict.fromkeys(listed) if slug in found]


def _pending_row(pending_id: object) -> SignInCode | None:
    if not isinstance(pending_id, str) or not pending_id:
        return None
    return db.session.scalars(
        select(SignInCode).where(SignInCode.pending_hash == hash_secret(pending_id))
    ).first()


def _attempts_left(row: SignInCode) -> int:
    return max(0, current_app.config["DASHBOARD_CODE_ATTEMPTS"] - row.attempts)


def _is_open(row: SignInCode, now: datetime) -> bool:
    return row.used_at is None and row.expires_at > now and _attempts_left(row) > 0


def pending_sign_in(pending_id: object, now: datetime) -> PendingSignIn | None:
    """The pending sign-in the browser's session names, or ``None`` if there is none (it
    was replaced by a newer code for the address, or never started)."""
    row = _pending_row(pending_id)
    if row is None:
        return None
    return PendingSignIn(db.session.get(Organization, row.org_id), _is_open(row, now), _attempts_left(row))


def verify_code(pending_id: object, code: str, now: datetime) -> Verification:
    """Enter ``code`` for the pending sign-in ``pending_id``.

    A wrong code counts as an attempt and the count is written (the unit of work commits it:
    nothing is raised); the right one is used up at once. Both are conditional updates, so
    two posts at once can neither take more attempts than allowed nor use one code twice. A
    code of an address nobody has, or of a person erased since, is wrong whatever it is.
    """
    row = _pending_row(pending_id)
    if row is None:
        return Verification("spent")
    org = db.session.get(Organization, row.org_id)
    still_open = (
        SignInCode.id == row.id,
        SignInCode.used_at.is_(None),
        SignInCode.expires_at > now,
    )
    counted = db.session.execute(
        update(SignInCode)
        .where(*still_open, SignInCode.attempts < current_app.config["DASHBOARD_CODE_ATTEMPTS"])
        .values(attempts=SignInCode.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(row)
    if counted != 1:
        return Verification("spent", org)
    matches = hmac.compare_digest(_code_hash(row.pending_hash, code.strip()), row.code_hash)
    subject = db.session.get(Subject, row.subject_id) if row.subject_id is not None else None
    if not matches or subject is None or subject.erased_at is not None:
        left = _attempts_left(row)
        return Verification("wrong" if left else "spent", org, attempts_left=left)
    claimed = db.session.execute(
        update(SignInCode).where(*still_open).values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(row)
    if claimed != 1:
        return Verification("spent", org)
    return Verification("signed_in", org, subject.id)


def delete_sign_in_artefacts(subject_id: int) -> int:
    """Delete what signs an erased person in (PIPL 47): their hand-off links and their
    sign-in codes (whose address hash is their information too); return how many."""
    codes = db.session.execute(delete(SignInCode).where(SignInCode.subject_id == subject_id)).rowcount
    db.session.flush()
    return delete_links(subject_id) + codes


def purge_codes(now: datetime) -> int:
    """Delete the sign-in rows whose last code went out more than ``DASHBOARD_CODE_KEEP_HOURS``
    ago: spent or expired, they no longer count for any limit (GB/T 35273 6.1: keep no longer
    than needed); return how many."""
    cutoff = now - timedelta(hours=current_app.config["DASHBOARD_CODE_KEEP_HOURS"])
    deleted = db.session.execute(delete(SignInCode).where(SignInCode.last_sent_at < cutoff)).rowcount
    db.session.flush()
    return deleted
