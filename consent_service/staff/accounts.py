"""Staff accounts: invitation, enrolment, sign-in with lockout, the second factor (TOTP and
recovery codes) and password reset (PIPL 51(3): security measures, access control; GB/T
35273 7.1, 11.7).

What a sign-in answers, and what it does not:

- An unknown address, a wrong password, a disabled account, a member not yet enrolled and a
  **locked** account all raise the same :class:`SignInFailed`, after the same argon2 work, so
  the form tells nobody which addresses are staff or which accounts are locked (saying "locked"
  to whoever typed an address would confirm that it is an account). The account holder learns
  it from the mail sent to their own address when the lock starts (:func:`_lock`).
- ``STAFF_LOCKOUT_ATTEMPTS`` wrong passwords or second-factor codes in a row lock the account
  for ``STAFF_LOCKOUT_MINUTES``; attempts during a lock are refused without being checked or
  counted (the lock is not extended by whoever keeps trying); a success, or a password reset,
  clears the count.

Enrolment (``STAFF_ENROL_HOURS``) and reset (``STAFF_RESET_MINUTES``) links are single use and
stored as SHA-256 only. Functions write and flush; the caller's unit of work commits.

Each sign-in, failed sign-in of a member, lock, failed second factor, recovery code used,
password reset (asked for and done) and sign-out is an entry in the organization's audit trail
(``console:<action>``, the member as ``staff:<id>``, never their address), through the
:class:`~consent_service.commands.AuditRecorder` the application provides. An address that is
no member's leaves no entry: the trail must not become a list of addresses people tried.

A TOTP step and a recovery code are each accepted once, even by two requests at the same time:
the row is changed only if it still holds what was read (a conditional ``UPDATE``), and the
request that finds it changed fails.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from consent_service.commands import AuditRecorder
from consent_service.errors import Conflict, DomainError, InvalidInput
from consent_service.extensions import db
from consent_service.mail.envelope import Envelope, normalize_address
from consent_service.mail.service import queue_mail
from consent_service.organizations.models import Organization
from consent_service.services import lookup
from consent_service.staff import credentials, messages, single_use
from consent_service.staff.models import StaffMember
from consent_service.staff.roles import ROLES, role
from consent_service.tokens import hash_secret

#: Where the console takes an enrolment and a reset link (``consent_service.console.views``).
ENROL_PATH = "/console/enrol/"
RESET_PATH = "/console/reset/"
ENROL, RESET = "enrol", "reset"


class SignInFailed(DomainError):
    """The one answer to every failed sign-in, whatever the reason (see the module)."""

    code = "sign_in_failed"
    status = 401

    def __init__(self) -> None:
        """The same message for every cause."""
        super().__init__("the email address or password is not right")


class SecondFactorFailed(DomainError):
    """The TOTP or recovery code is not right (or the account is locked)."""

    code = "second_factor_failed"
    status = 401

    def __init__(self) -> None:
        """The same message for every cause."""
        super().__init__("the code is not right")


class LinkNotValid(DomainError):
    """An enrolment or reset link that is unknown, used or expired."""

    code = "link_not_valid"
    status = 410


@dataclass(frozen=True)
class SecondFactorSetup:
    """A TOTP secret to enter in an authenticator app, as text and as an ``otpauth://`` URI."""

    secret: str
    otpauth_uri: str


def normalized_email(email: object) -> str | None:
    """The address as staff accounts keep it (normalized, lower case), or ``None``."""
    address = normalize_address(email)
    return address.lower() if address is not None else None


def _record(member: StaffMember, action: str, outcome: str, details: dict | None = None) -> None:
    """``console:<action>`` of ``member`` in their organization's audit trail (their id only)."""
    lookup(AuditRecorder)(
        member.org_id, "staff", f"staff:{member.id}", f"console:{action}", f"staff_member:{member.id}",
        outcome, details,
    )  # fmt: skip


def _base_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def _new_link(member: StaffMember, purpose: str, valid: timedelta, now: datetime) -> str:
    """Give ``member`` a fresh single-use link token (replacing any earlier one)."""
    token = secrets.token_urlsafe(32)
    member.token_hash = hash_secret(token)
    member.token_purpose = purpose
    member.token_expires_at = now + valid
    return token


def _member_of_link(token: object, purpose: str, now: datetime) -> StaffMember:
    if not isinstance(token, str) or not token:
        raise LinkNotValid("this link is not valid")
    member = db.session.scalars(
        select(StaffMember).where(StaffMember.token_hash == hash_secret(token))
    ).first()
    if (
        member is None
        or member.token_purpose != purpose
        or member.token_expires_at is None
        or member.token_expires_at <= now
        or member.disabled_at is not None
    ):
        raise LinkNotValid("this link is not valid: it was used, has expired or was replaced")
    return member


def _spend_link(member: StaffMember) -> None:
    member.token_hash = member.token_purpose = member.token_expires_at = None


def find_member(org: Organization, email: str) -> StaffMember | None:
    """The staff member of ``org`` with the address ``email``, if any."""
    address = normalized_email(email)
    if address is None:
        return None
    return db.session.scalars(
        select(StaffMember).where(StaffMember.org_id == org.id, StaffMember.email == address)
    ).first()


def invite(
    org: Organization, email: str, name: str, role_code: str, now: datetime
) -> tuple[StaffMember, str]:
    """Add a member of staff to ``org`` with the role ``role_code`` and return them with their
    one-time enrolment link (valid ``STAFF_ENROL_HOURS``; only its hash is stored).

    :class:`InvalidInput` names each wrong field; :class:`Conflict` if the address is taken.
    """
    errors: dict[str, list[str]] = {}
    address = normalized_email(email)
    if address is None:
        errors["email"] = ["is not an email address"]
    if role_code not in ROLES:
        errors["role"] = [f"is not one of {', '.join(ROLES)}"]
    name = (name or "").strip()
    if len(name) > 200:
        errors["name"] = ["is longer than 200 characters"]
    if errors:
        raise InvalidInput("invalid staff member", errors)
    if find_member(org, address) is not None:
        raise Conflict("a member of staff already has this address", {"email": address})
    member = StaffMember(
        org_id=org.id, email=address, name=name or address.split("@")[0], role=role_code,
        failed_attempts=0, created_at=now,
    )  # fmt: skip
    hours = current_app.config["STAFF_ENROL_HOURS"]
    token = _new_link(member, ENROL, timedelta(hours=hours), now)
    db.session.add(member)
    db.session.flush()
    return member, _base_url() + ENROL_PATH + token


def check_password_rules(member: StaffMember, password: str) -> None:
    """Refuse a password that is too short or is the member's address (``InvalidInput`` on
    ``password``)."""
    minimum = current_app.config["STAFF_PASSWORD_MIN_LENGTH"]
    problems = []
    if len(password) < minimum:
        problems.append(f"must be at least {minimum} characters")
    lowered = password.strip().lower()
    if lowered in (member.email, member.email.split("@")[0]):
        problems.append("must not be your email address")
    if problems:
        raise InvalidInput("invalid password", {"password": problems})


def member_of_enrolment(token: object, now: datetime) -> StaffMember:
    """The member an enrolment link is for (:class:`LinkNotValid` if none)."""
    return _member_of_link(token, ENROL, now)


def enrol(token: object, password: str, now: datetime) -> StaffMember:
    """Set the first password of the member the enrolment link ``token`` is for, and spend
    the link. :class:`LinkNotValid`, or :class:`InvalidInput` on ``password``."""
    member = _member_of_link(token, ENROL, now)
    check_password_rules(member, password)
    member.password_hash = credentials.hash_password(password)
    _spend_link(member)
    db.session.flush()
    return member


def is_locked(member: StaffMember, now: datetime) -> bool:
    """Whether the account is locked at ``now``."""
    return member.locked_until is not None and member.locked_until > now


def _org_name(org: Organization, language: str) -> str:
    return org.name_en if language == "en" else org.name_zh


def _count_failure(member: StaffMember, now: datetime, language: str) -> None:
    """One more failure in a row; the last allowed one starts the lock and mails the holder."""
    config = current_app.config
    member.failed_attempts = (member.failed_attempts or 0) + 1
    if member.failed_attempts >= config["STAFF_LOCKOUT_ATTEMPTS"]:
        minutes = config["STAFF_LOCKOUT_MINUTES"]
        member.locked_until = now + timedelta(minutes=minutes)
        member.failed_attempts = 0
        until = member.locked_until.isoformat()
        _record(member, "lockout", "ok", {"locked_until": until, "minutes": minutes})
        org = db.session.get(Organization, member.org_id)
        title, text = messages.account_locked(_org_name(org, language), minutes, language)
        queue_mail(
            member.email, title, text, kind="staff.account_locked", org=org, language=language, now=now
        )
    db.session.flush()


def needs_second_factor(member: StaffMember) -> bool:
    """Whether signing in takes a second factor: the role requires it, or TOTP is on."""
    return role(member.role).requires_second_factor or member.totp_enabled_at is not None


def authenticate(
    org: Organization, email: str, password: str, now: datetime, language: str = "zh-CN"
) -> StaffMember:
    """The member of ``org`` whose address and password these are, their failures cleared;
    otherwise :class:`SignInFailed`, the same for every cause (see the module). A wrong
    password counts towards the lock, which the unit of work commits: the caller must commit
    even when this raises. The caller still asks for the second factor if
    :func:`needs_second_factor`; ``last_sign_in_at`` is set by :func:`signed_in`."""
    member = find_member(org, email)
    usable = member is not None and member.disabled_at is None and member.password_hash is not None
    matches = credentials.password_matches(password, member.password_hash if usable else None)
    if not usable or is_locked(member, now):
        if member is not None:
            _record(member, "sign_in", "failed", {"reason": _refusal(member, now)})
        raise SignInFailed()
    if not matches:
        _record(member, "sign_in", "failed", {"reason": "password"})
        _count_failure(member, now, language)
        raise SignInFailed()
    member.failed_attempts = 0
    member.locked_until = None
    db.session.flush()
    return member


def _refusal(member: StaffMember, now: datetime) -> str:
    """Why a known member's sign-in is refused before their password counts."""
    if member.disabled_at is not None:
        return "disabled"
    if member.password_hash is None:
        return "not_enrolled"
    return "locked"


def signed_in(member: StaffMember, now: datetime, second_factor: str | None = None) -> None:
    """Note a completed sign-in (both factors where needed; ``second_factor`` says which one
    was given, ``"totp"`` or ``"recovery"``), in the trail too."""
    member.failed_attempts = 0
    member.last_sign_in_at = now
    _record(member, "sign_in", "ok", {"second_factor": second_factor} if second_factor else None)
    db.session.flush()


def signed_out(member: StaffMember) -> None:
    """Note a sign-out in the trail."""
    _record(member, "sign_out", "ok")


def start_totp(member: StaffMember, issuer: str | None = None) -> SecondFactorSetup:
    """Give ``member`` a new TOTP secret, stored encrypted and not yet in force (a TOTP already
    confirmed is refused: :class:`Conflict`)."""
    if member.totp_enabled_at is not None:
        raise Conflict("two-step sign-in is already set up")
    secret = credentials.new_totp_secret()
    member.totp_secret_encrypted = credentials.seal_totp_secret(secret)
    if issuer is None:
        org = db.session.get(Organization, member.org_id)
        issuer = org.name_en
    db.session.flush()
    return SecondFactorSetup(secret, credentials.provisioning_uri(secret, member.email, issuer))


def pending_totp(member: StaffMember, issuer: str) -> SecondFactorSetup | None:
    """The secret started and not yet confirmed, if any (to show it again)."""
    if member.totp_enabled_at is not None or member.totp_secret_encrypted is None:
        return None
    secret = credentials.open_totp_secret(member.totp_secret_encrypted)
    return SecondFactorSetup(secret, credentials.provisioning_uri(secret, member.email, issuer))


def confirm_totp(member: StaffMember, code: str, now: datetime) -> list[str]:
    """Put the started TOTP in force once ``code`` proves the app has it, and return ten
    recovery codes to be shown once (stored as hashes). :class:`InvalidInput` on ``code``."""
    if member.totp_enabled_at is not None or member.totp_secret_encrypted is None:
        raise Conflict("no two-step sign-in is being set up")
    secret = credentials.open_totp_secret(member.totp_secret_encrypted)
    step = credentials.totp_step(secret, code, now, member.totp_last_step)
    if step is None:
        raise InvalidInput("invalid code", {"code": ["is not the code the app shows now"]})
    codes = credentials.new_recovery_codes()
    member.totp_enabled_at = now
    member.totp_last_step = step
    member.recovery_code_hashes = [credentials.recovery_code_hash(c) for c in codes]
    db.session.flush()
    return codes


def check_second_factor(member: StaffMember, code: str, now: datetime, language: str = "zh-CN") -> str:
    """Check a TOTP code, or else a recovery code (used up at once); return ``"totp"`` or
    ``"recovery"``. A wrong code counts towards the lock; a locked account, or one without a
    TOTP in force, is refused (:class:`SecondFactorFailed`). The caller commits either way."""
    if member.totp_enabled_at is None or member.totp_secret_encrypted is None or is_locked(member, now):
        reason = "locked" if is_locked(member, now) else "no_totp"
        _record(member, "second_factor", "failed", {"reason": reason})
        raise SecondFactorFailed()
    secret = credentials.open_totp_secret(member.totp_secret_encrypted)
    step = credentials.totp_step(secret, code, now, member.totp_last_step)
    if step is not None and single_use.claim_totp_step(member, step):
        return "totp"
    remaining = single_use.spend_recovery_code(member, credentials.recovery_code_hash(code))
    if remaining is not None:
        _record(member, "recovery_code", "ok", {"remaining": remaining})
        return "recovery"
    _record(member, "second_factor", "failed", {"reason": "code"})
    _count_failure(member, now, language)
    raise SecondFactorFailed()


def request_reset(org: Organization, email: str, now: datetime, language: str = "zh-CN") -> None:
    """Mail a one-time password reset link (``STAFF_RESET_MINUTES``) to the member of ``org``
    with the address ``email``, if there is one enrolled and not disabled. Nothing says whether
    there is: for an unknown address the same mail is built and sealed, then dropped."""
    minutes = current_app.config["STAFF_RESET_MINUTES"]
    member = find_member(org, email)
    address = normalized_email(email)
    if address is None:
        raise InvalidInput("invalid address", {"email": ["is not an email address"]})
    language = "en" if language.lower().startswith("en") else "zh-CN"
    token = secrets.token_urlsafe(32)
    if member is not None and member.disabled_at is None and member.password_hash is not None:
        token = _new_link(member, RESET, timedelta(minutes=minutes), now)
    title, text = messages.password_reset(
        _org_name(org, language), _base_url() + RESET_PATH + token, minutes, language
    )
    if member is not None and member.token_purpose == RESET and member.token_hash == hash_secret(token):
        _record(member, "password_reset_request", "ok")
        queue_mail(
            member.email, title, text, kind="staff.password_reset", org=org, language=language, now=now
        )
    else:
        Envelope.checked(
            address, title, text, html=None, language=language, reply_to=None, kind="staff.password_reset"
        ).seal()
    db.session.flush()


def member_of_reset(token: object, now: datetime) -> StaffMember:
    """The member a reset link is for (:class:`LinkNotValid` if none)."""
    return _member_of_link(token, RESET, now)


def reset_password(token: object, password: str, now: datetime) -> StaffMember:
    """Set a new password from the reset link ``token``, spend the link and clear the lock.
    :class:`LinkNotValid`, or :class:`InvalidInput` on ``password``."""
    member = _member_of_link(token, RESET, now)
    check_password_rules(member, password)
    member.password_hash = credentials.hash_password(password)
    member.failed_attempts = 0
    member.locked_until = None
    _spend_link(member)
    _record(member, "password_reset", "ok")
    db.session.flush()
    return member


def get_member(member_id: object) -> StaffMember | None:
    """The member with id ``member_id``, if any."""
    if not isinstance(member_id, int):
        return None
    return db.session.get(StaffMember, member_id)
