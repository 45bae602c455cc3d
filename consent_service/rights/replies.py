"""What goes back to the requester: where their mail goes, what they asked, and the
acknowledgement with the due date. Replies are queued in the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from consent_service import secrets_box
from consent_service.consent.models import Subject
from consent_service.mail.service import queue_mail
from consent_service.organizations.models import Organization
from consent_service.rights import messages
from consent_service.rights.models import RightsRequest
from consent_service.rights.workflow import OPEN

#: Labels of the encryption of a request's details and of the requester's contact.
DETAILS = b"consent-rights-details"
CONTACT = b"consent-rights-contact"


def contact(request: RightsRequest, subject: Subject) -> str | None:
    """Where the requester's mail goes: the contact given, else the person's own address."""
    if request.requester_contact_encrypted:
        return secrets_box.decrypt(request.requester_contact_encrypted, CONTACT)
    if request.requester_kind in ("subject", "officer") and subject.email:
        return subject.email
    return None


def details_of(request: RightsRequest) -> str | None:
    """What the request asks, decrypted (for the officer and the API; never logged)."""
    return secrets_box.decrypt(request.details_encrypted, DETAILS) if request.details_encrypted else None


def org_name(org: Organization, language: str) -> str:
    return org.name_en if language == "en" else org.name_zh


def acknowledge(org: Organization, request: RightsRequest, subject: Subject, now: datetime) -> None:
    """Mail the acknowledgement once the clock runs (with its due date)."""
    to = contact(request, subject)
    if to is None or request.due_at is None or request.status not in OPEN:
        return
    subject_line, text = messages.acknowledgement(
        org_name(org, request.language), request.type, request.public_id, request.due_at, org.timezone,
        request.language,
    )  # fmt: skip
    queue_mail(
        to, subject_line, text, kind="rights.acknowledgement", org=org, language=request.language, now=now
    )
