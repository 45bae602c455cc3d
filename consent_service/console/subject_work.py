"""What the console's people pages show, as plain data: who matches a search, and one
person's state per purpose, consent history and rights requests. Reads only.

A page shows as little of the person as it can (PIPL 6, GB/T 35273 7.1: minimum necessary):
the external id, the address with its local part masked, whether they are a minor, and what
the ledger says; an erased person (PIPL 47) only as the pseudonym their id became.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from consent_service.consent.decisions import decide
from consent_service.consent.models import ConsentEvent, Subject
from consent_service.consent.subjects import is_minor
from consent_service.errors import NotFound
from consent_service.extensions import db
from consent_service.i18n import local_datetime
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose
from consent_service.policies.purposes import current_versions
from consent_service.receipts.models import ConsentReceipt
from consent_service.rights.models import RightsRequest
from consent_service.rights.types import REQUEST_TYPES

#: At most this many people are listed for one search; more asks for a narrower one.
SEARCH_LIMIT = 50
#: At most this many events of a person's history are shown, newest first.
HISTORY_LIMIT = 200


def masked_email(address: str | None) -> str | None:
    """``l***@example.com``: the domain, and the local part's first character only."""
    if not address or "@" not in address:
        return None
    local, domain = address.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def _when(value: datetime | None, org: Organization, lang: str) -> str | None:
    return local_datetime(value, org.timezone, lang) if value is not None else None


def search(org: Organization, query: str, lang: str) -> dict[str, Any]:
    """The people of ``org`` matching ``query``: an address (``@`` in it) matches the stored
    address case-insensitively and exactly; anything else matches an external id exactly or
    as its beginning, the exact match first. ``capped`` says more than ``SEARCH_LIMIT`` match."""
    query = query.strip()
    if not query:
        return {"results": [], "capped": False, "by": None}
    if "@" in query:
        by = "email"
        condition = func.lower(Subject.email) == query.lower()
        order = (Subject.id,)
    else:
        by = "external_id"
        condition = or_(Subject.external_id == query, Subject.external_id.startswith(query, autoescape=True))
        order = (Subject.external_id != query, Subject.external_id)
    rows = db.session.scalars(
        select(Subject).where(Subject.org_id == org.id, condition).order_by(*order).limit(SEARCH_LIMIT + 1)
    ).all()
    return {
        "results": [
            {
                "external_id": s.external_id,
                "email": masked_email(s.email),
                "erased": s.erased_at is not None,
                "since": _when(s.created_at, org, lang),
            }
            for s in rows[:SEARCH_LIMIT]
        ],
        "capped": len(rows) > SEARCH_LIMIT,
        "by": by,
    }


def _states(org: Organization, subject: Subject, now: datetime, lang: str) -> list[dict[str, Any]]:
    """For each purpose, the decision now (``decide``: the rules the API answers with)."""
    rows = []
    for code, version in sorted(current_versions(org).items()):
        decision = decide(org, subject.external_id, code, now, now)
        rows.append(
            {
                "purpose": code,
                "name": version.name_zh if lang == "zh" else version.name_en,
                "allowed": decision.allowed,
                "reason": decision.reason,
                "basis": decision.basis,
                "clause": decision.basis_clause,
                "event": decision.consent_event_id,
                "expires": _when(decision.expires_at, org, lang),
            }
        )
    return rows


def _history(org: Organization, subject: Subject, lang: str) -> tuple[list[dict[str, Any]], bool]:
    """The person's consent events, newest first, each with its receipt's id if it has one."""
    rows = db.session.execute(
        select(ConsentEvent, Purpose.code, ConsentReceipt.receipt_id)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(ConsentReceipt, ConsentReceipt.event_id == ConsentEvent.id)
        .where(ConsentEvent.subject_id == subject.id)
        .order_by(ConsentEvent.seq.desc())
        .limit(HISTORY_LIMIT + 1)
    ).all()
    events = [
        {
            "seq": event.seq,
            "id": event.uuid,
            "at": _when(event.occurred_at, org, lang),
            "purpose": code,
            "purpose_version": event.purpose_version,
            "action": event.action,
            "consent_type": event.consent_type,
            "actor": event.actor_kind,
            "method": event.method,
            "receipt": receipt_id,
        }
        for event, code, receipt_id in rows[:HISTORY_LIMIT]
    ]
    return events, len(rows) > HISTORY_LIMIT


def _requests(org: Organization, subject: Subject, lang: str) -> list[dict[str, Any]]:
    """The person's rights requests, newest first."""
    rows = db.session.scalars(
        select(RightsRequest)
        .where(RightsRequest.org_id == org.id, RightsRequest.subject_id == subject.id)
        .order_by(RightsRequest.received_at.desc(), RightsRequest.id.desc())
    ).all()
    return [
        {
            "id": r.public_id,
            "type": REQUEST_TYPES[r.type].name_zh if lang == "zh" else REQUEST_TYPES[r.type].name_en,
            "status": r.status,
            "received": _when(r.received_at, org, lang),
        }
        for r in rows
    ]


def subject_page(org: Organization, external_id: str, now: datetime, lang: str) -> dict[str, Any]:
    """One person of ``org`` (an erased one by the pseudonym their id became); :class:`NotFound`
    for anyone else."""
    subject = db.session.scalars(
        select(Subject).where(Subject.org_id == org.id, Subject.external_id == external_id)
    ).first()
    if subject is None:
        raise NotFound(f"no subject {external_id!r}")
    erased = subject.erased_at is not None
    history, history_capped = _history(org, subject, lang)
    return {
        "external_id": subject.external_id,
        "erased": erased,
        "erased_at": _when(subject.erased_at, org, lang),
        "email": None if erased else masked_email(subject.email),
        "is_minor": False if erased else is_minor(subject, org, now),
        "since": _when(subject.created_at, org, lang),
        "states": [] if erased else _states(org, subject, now, lang),
        "history": history,
        "history_capped": history_capped,
        "requests": _requests(org, subject, lang),
    }
