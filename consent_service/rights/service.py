"""Rights requests: receiving them and verifying the requester (PIPL 44-50; GB/T 35273 8).

Functions write and flush; the caller's unit of work commits. Every change of a request is a
step of :mod:`~consent_service.rights.workflow`'s table, recorded as an event with its actor,
time and note; mail and webhooks go through their outboxes in the same transaction. The legal
clock is :mod:`~consent_service.rights.deadlines`'s: recomputed (and its reminders planned)
whenever something moves it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from consent_service import secrets_box
from consent_service.changes import note as note_change
from consent_service.consent.models import Subject
from consent_service.consent.subjects import get_subject, is_minor
from consent_service.errors import DomainError, InvalidInput
from consent_service.extensions import db
from consent_service.ids import uuid7
from consent_service.mail.envelope import normalize_address
from consent_service.mail.service import queue_mail
from consent_service.organizations.models import Organization
from consent_service.rights import fulfilment, messages
from consent_service.rights.corrections import check_corrections, seal_corrections
from consent_service.rights.models import IdentityCode, RightsRequest
from consent_service.rights.queries import get_request
from consent_service.rights.replies import CONTACT, DETAILS, acknowledge, contact, org_name
from consent_service.rights.schedule import schedule
from consent_service.rights.timeline import Actor, record, step, webhook_data
from consent_service.rights.types import REQUEST_TYPES
from consent_service.rights.workflow import next_status
from consent_service.webhooks.service import emit

REGIMES = ("PIPL", "GDPR")
CHANNELS = ("api", "dashboard", "paper", "phone", "email")
REQUESTER_KINDS = ("subject", "guardian", "relative", "officer")
#: PIPL 49: what close relatives of a deceased person may ask for.
RELATIVE_TYPES = ("access", "copy", "correction", "deletion")
#: Who may vouch for the requester when the request is made, so that its clock starts at once:
#: the company through the API (its client is recorded), or the person's own signed-in
#: dashboard session (GB/T 8.7 a: the session is the proof, as the company's voucher is).
VOUCHERS = ("company", "dashboard")


class CodeInvalid(DomainError):
    """The verification code is wrong, used up or expired."""

    code = "code_invalid"
    status = 422


class CodeResendTooSoon(DomainError):
    """A new code was asked for too soon after the last, or too many times."""

    code = "code_resend_too_soon"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        """Say when a new code may be asked for."""
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after

    def problem_headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds."""
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Requester:
    """Who asks: the person, a guardian (PIPL 31), a close relative of a deceased person (PIPL
    49: relationship, proof and the lawful interest), or an officer entering a request received
    on paper or by phone."""

    kind: str = "subject"
    name: str | None = None
    relationship: str | None = None
    proof: str | None = None
    interest: str | None = None
    contact: str | None = None


# --- receiving --------------------------------------------------------------------------------


def _check_new(
    org: Organization,
    subject: Subject,
    request_type: str,
    regime: str,
    requester: Requester,
    channel: str,
    identity_verified_by: str | None,
    client_id: str | None,
    entered_by: str | None,
    language: str,
    now: datetime,
) -> None:
    """Every field of a new request, each error by name (GB/T 8.5 c: nothing beyond what was
    collected is asked for: the person is known by the company's own id)."""
    errors: dict[str, list[str]] = {}
    if request_type not in REQUEST_TYPES:
        errors["type"] = [f"must be one of {', '.join(REQUEST_TYPES)}"]
    if regime not in REGIMES:
        errors["regime"] = [f"must be one of {', '.join(REGIMES)}"]
    if channel not in CHANNELS:
        errors["channel"] = [f"must be one of {', '.join(CHANNELS)}"]
    if language not in ("zh-CN", "en"):
        errors["language"] = ["must be zh-CN or en"]
    kind = requester.kind
    if kind not in REQUESTER_KINDS:
        errors["requester.kind"] = [f"must be one of {', '.join(REQUESTER_KINDS)}"]
    if kind == "guardian":
        if not (requester.name and requester.relationship):
            errors["requester"] = ["a guardian needs a name and a relationship (PIPL 31)"]
        elif not is_minor(subject, org, now):
            errors["requester"] = ["a guardian acts for a child under 14 only (PIPL 31)"]
    if kind == "relative":
        if not (requester.name and requester.relationship and requester.proof and requester.interest):
            errors["requester"] = [
                "a close relative needs a name, the relationship, its proof and the lawful interest (PIPL 49)"
            ]
        if request_type in REQUEST_TYPES and request_type not in RELATIVE_TYPES:
            errors["type"] = [f"a close relative may ask for {', '.join(RELATIVE_TYPES)} (PIPL 49)"]
    if kind == "officer" and channel not in ("paper", "phone", "email"):
        errors["channel"] = ["an officer enters requests received on paper, by phone or by email"]
    if kind == "officer" and not entered_by:
        errors["entered_by"] = ["name the officer who entered it"]
    for name in ("name", "relationship", "proof", "interest"):
        value = getattr(requester, name)
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            errors[f"requester.{name}"] = ["must be text of at most 2000 characters"]
    if requester.contact is not None and normalize_address(requester.contact) is None:
        errors["requester.contact"] = ["is not an email address"]
    if identity_verified_by not in (None, *VOUCHERS):
        errors["identity_verified_by"] = [
            "may only be company (the caller vouches for the person) or dashboard (their own session)"
        ]
    if identity_verified_by == "company" and client_id is None:
        errors["identity_verified_by"] = ["only an API client can vouch for the person"]
    if identity_verified_by == "dashboard" and (channel != "dashboard" or kind != "subject" or client_id):
        errors["identity_verified_by"] = ["only the person's own dashboard session proves who they are"]
    if errors:
        raise InvalidInput("invalid rights request", errors)


def create_request(
    org: Organization,
    subject_external_id: str,
    request_type: str,
    now: datetime,
    *,
    regime: str | None = None,
    requester: Requester | None = None,
    channel: str = "api",
    identity_verified_by: str | None = None,
    client_id: str | None = None,
    entered_by: str | None = None,
    details: str | None = None,
    corrections: dict[str, str | None] | None = None,
    language: str = "zh-CN",
) -> RightsRequest:
    """Receive a request for ``subject_external_id``.

    When the caller vouches for the person (``identity_verified_by="company"``, an API client;
    ``"dashboard"``, the person's own signed-in dashboard session, ``channel="dashboard"``) the
    request is in progress at once and the clock starts. Otherwise a 6-digit code is mailed to the
    requester (the person's address, or the contact given for a guardian or relative), and the
    clock starts when it is entered; a request nobody can be mailed waits for an officer to
    verify the requester. The acknowledgement states the due date as soon as there is one.
    """
    subject = get_subject(org, subject_external_id)
    requester = requester or Requester()
    regime = regime or org.default_regime
    _check_new(
        org, subject, request_type, regime, requester, channel, identity_verified_by, client_id, entered_by,
        language, now,
    )  # fmt: skip
    if details is not None and (not isinstance(details, str) or len(details) > 20000):
        raise InvalidInput(
            "invalid rights request", {"details": ["must be text of at most 20000 characters"]}
        )
    if corrections is not None and request_type != "correction":
        raise InvalidInput("invalid rights request", {"corrections": ["only a correction request corrects"]})
    corrections = check_corrections(corrections) if corrections is not None else None
    request = RightsRequest(
        public_id="rr_" + uuid7().replace("-", "")[:24],
        org_id=org.id,
        subject_id=subject.id,
        type=request_type,
        regime=regime,
        status="received",
        channel=channel,
        requester_kind=requester.kind,
        requester_name=requester.name,
        requester_relationship=requester.relationship,
        requester_proof=requester.proof,
        requester_interest=requester.interest,
        requester_contact_encrypted=(
            secrets_box.encrypt(normalize_address(requester.contact), CONTACT) if requester.contact else None
        ),
        entered_by=entered_by,
        client_id=client_id,
        language=language,
        details_encrypted=secrets_box.encrypt(details, DETAILS) if details else None,
        corrections_encrypted=seal_corrections(corrections) if corrections else None,
        received_at=now,
        provisional=False,
        paused_days=0,
        at_risk=False,
        overdue=False,
        event_count=0,
        created_at=now,
        updated_at=now,
    )
    db.session.add(request)
    db.session.flush()
    actor = _creator(requester, client_id, entered_by)
    record(request, "receive", None, "received", actor, None, now)
    note_change(f"rights_request:{request.public_id}", None, {"type": request_type, "status": "received"})
    if identity_verified_by == "company":
        _verified(org, request, "company", Actor("client", client_id), now)
    elif identity_verified_by == "dashboard":
        _verified(org, request, "dashboard", Actor("subject"), now)
    else:
        schedule(org, request, now)  # a rule that starts at receipt (GDPR) runs already
        if contact(request, subject) is not None:
            _send_code(org, request, subject, actor, now)
    emit(org, "rights.request.created", webhook_data(request, subject), now, ordering_key=subject.external_id)
    acknowledge(org, request, subject, now)
    fulfilment.begin(org, request, now, actor)
    return request


def _creator(requester: Requester, client_id: str | None, entered_by: str | None) -> Actor:
    if requester.kind == "officer":
        return Actor("officer", entered_by)
    if client_id is not None:
        return Actor("client", client_id)
    return Actor(requester.kind, requester.name)


# --- identity ---------------------------------------------------------------------------------


def _code_hash(request: RightsRequest, code: str) -> str:
    """A keyed hash of the code: six digits are a small space, so a plain hash of a stolen
    table would be reversed at once; without the secret it cannot be."""
    key = hashlib.sha256(current_app.config["SECRET_KEY"].encode() + b"consent-rights-code").digest()
    return hmac.new(key, f"{request.public_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _send_code(
    org: Organization, request: RightsRequest, subject: Subject, actor: Actor, now: datetime
) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = current_app.config["RIGHTS_CODE_MINUTES"]
    row = db.session.scalars(select(IdentityCode).where(IdentityCode.request_id == request.id)).first()
    if row is None:
        row = IdentityCode(
            request_id=request.id, attempts=0, sends=0, last_sent_at=now, code_hash="", expires_at=now
        )
        db.session.add(row)
    row.code_hash = _code_hash(request, code)
    row.expires_at = now + timedelta(minutes=minutes)
    row.attempts = 0
    row.sends += 1
    row.last_sent_at = now
    row.used_at = None
    subject_line, text = messages.identity_code(
        org_name(org, request.language), request.type, code, minutes, request.language
    )
    queue_mail(contact(request, subject), subject_line, text, kind="rights.identity_code", org=org,
               language=request.language, now=now)  # fmt: skip
    step(request, "send_code", actor, None, now)


def resend_code(org: Organization, public_id: str, now: datetime, actor: Actor) -> RightsRequest:
    """Mail a new code (the old one stops working); at most one a minute, five in all."""
    request = get_request(org, public_id)
    next_status("send_code", request.status)
    subject = db.session.get(Subject, request.subject_id)
    if contact(request, subject) is None:
        raise InvalidInput("no address to send a code to", {"requester.contact": ["is not known"]})
    row = db.session.scalars(select(IdentityCode).where(IdentityCode.request_id == request.id)).first()
    if row is not None:
        wait = current_app.config["RIGHTS_CODE_RESEND_SECONDS"]
        ready = row.last_sent_at + timedelta(seconds=wait)
        if row.sends >= current_app.config["RIGHTS_CODE_MAX_SENDS"]:
            raise CodeResendTooSoon(
                "no more codes can be sent for this request; an officer must verify", 3600
            )
        if now < ready:
            raise CodeResendTooSoon("a code was sent moments ago", max(1, int((ready - now).total_seconds())))
    _send_code(org, request, subject, actor, now)
    return request


def verify_identity(
    org: Organization,
    public_id: str,
    now: datetime,
    actor: Actor,
    *,
    code: str | None = None,
    by: str = "code",
) -> RightsRequest:
    """Verify the requester: with the mailed code (10 minutes, 5 attempts), or as the company
    or an officer vouching for them. The clock starts now where the rule says so."""
    request = get_request(org, public_id)
    next_status("verify", request.status)
    if by == "code":
        row = db.session.scalars(select(IdentityCode).where(IdentityCode.request_id == request.id)).first()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise CodeInvalid("the code has expired or was never sent; ask for a new one")
        if row.attempts >= current_app.config["RIGHTS_CODE_ATTEMPTS"]:
            raise CodeInvalid("too many wrong codes; ask for a new one")
        row.attempts += 1
        if not isinstance(code, str) or not hmac.compare_digest(
            _code_hash(request, code.strip()), row.code_hash
        ):
            left = current_app.config["RIGHTS_CODE_ATTEMPTS"] - row.attempts
            db.session.flush()  # the attempt counts even though the request is refused
            raise CodeInvalid(f"the code is wrong; {left} attempts left", {"attempts_left": left})
        row.used_at = now
    elif by not in ("company", "officer"):
        raise InvalidInput("invalid verification", {"by": ["must be code, company or officer"]})
    _verified(org, request, by, actor, now)
    acknowledge(org, request, db.session.get(Subject, request.subject_id), now)
    fulfilment.begin(org, request, now, actor)
    return request


def _verified(org: Organization, request: RightsRequest, by: str, actor: Actor, now: datetime) -> None:
    request.identity_verified_at = now
    request.identity_verified_by = by
    step(request, "verify", actor, f"identity verified by {by}", now)
    schedule(org, request, now)
