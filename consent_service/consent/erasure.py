"""Erasure of a person's information (个人信息删除): on a deletion request or an account
cancellation (PIPL 47; GB/T 35273 8.3, 8.5), keeping only what the law requires.

:func:`erase_subject` withdraws what is still granted through the ledger, as the system, so
the company is told as of any withdrawal (PIPL 15); redacts the personal fields of every
consent event (:mod:`consent_service.consent.redaction`), whose hashes stay as they were;
erases the receipts' tokens, which name the person; pseudonymizes the person's row with a
keyed pseudonym (PIPL 73(3)) and empties its contact, birth date and guardian fields; deletes
the person's sign-in links; and writes the minimal record of the erasure, signed with the
service's key, against which ``flask audit verify`` checks the redacted events.

What is kept, and why (PIPL 47 ¶2: where deletion would defeat a legal duty to keep, the
handler stops all processing other than storage and security): the pseudonymized events and
their chain, the proof that earlier processing was lawful (PIPL 15 ¶2, GB/T 11.7); and the
record of the request. Functions here flush and never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import or_, select

from consent_service.consent.models import ConsentEvent, ConsentState, Subject, SubjectErasure
from consent_service.consent.redaction import (
    ERASURE_TYPE,
    pseudonym,
    record_payload,
    redact,
    redacted_digest,
)
from consent_service.consent.rows import EventRow
from consent_service.consent.writer import Actor, ChainWriter
from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose, PurposeVersion
from consent_service.receipts import keys
from consent_service.receipts.service import erase_receipts
from consent_service.services import lookup


class SubjectAlreadyErased(Conflict):
    """The person's information was erased already: nothing is left to erase."""

    code = "subject_already_erased"


class SignInArtefacts(Protocol):
    """Deletes what a higher package keeps to sign the person in (the dashboard's hand-off
    links) and returns how many were deleted; ``create_app`` provides it."""

    def __call__(self, subject_id: int) -> int: ...


#: The person's own fields, emptied by an erasure (the row keeps its id, chain head and times).
ERASED_FIELDS = ("email", "phone", "birth_date", "guardian_name", "guardian_contact", "guardian_relationship")


@dataclass(frozen=True)
class Kept:
    """One thing kept after an erasure, and why, in the words the reply to the person uses."""

    key: str
    zh: str
    en: str


#: What an erasure keeps, for the reply to the person (PIPL 47 ¶2, 50).
KEPT = (
    Kept(
        "consent_events",
        "您的同意记录（何时对哪些目的授权或撤回、以何种方式）已去标识化保存，其中的个人信息"
        "（IP 地址、设备信息、备注、监护人姓名等）已删除；其哈希链保持完整，仅用于证明此前的"
        "处理合法（《个人信息保护法》第四十七条第二款、第十五条第二款），除存储和必要的安全保护"
        "措施外不再处理。",
        "Your consent records (when you granted or withdrew consent, for which purposes, and how) "
        "are kept pseudonymized, with the personal information in them (IP address, device "
        "details, notes, a guardian's name) deleted; their hash chain stays intact only to prove "
        "that earlier processing was lawful (PIPL Article 47 paragraph 2, Article 15 paragraph "
        "2), and they are not processed except for storage and necessary security measures.",
    ),
    Kept(
        "receipts",
        "您持有的同意回执仍可核对：我们只保留回执编号和回执的 SHA-256 摘要。",
        "The consent receipts you hold can still be checked: only each receipt's identifier "
        "and the SHA-256 digest of the receipt are kept.",
    ),
    Kept(
        "erasure_record",
        "本次删除请求的最少记录：时间、请求编号、原因，以及经签名的已删改记录清单，用于证明删除"
        "已依法完成（GB/T 35273—2020 第 8.3、8.5 条）。",
        "A minimal record of this request: its time, reference and reason, and a signed list of "
        "the records changed, to show that the erasure was carried out (GB/T 35273-2020 8.3, 8.5).",
    ),
)


@dataclass(frozen=True)
class Erasure:
    """What an erasure did, and what it kept (:data:`KEPT`) for the reply to the person."""

    pseudonym: str
    erased_at: datetime
    consents_withdrawn: int
    events_redacted: int
    receipts_erased: int
    sign_in_links_deleted: int
    kept: tuple[Kept, ...] = field(default=KEPT)


def erase_subject(
    org: Organization, subject: Subject, now: datetime, *, reason: str, reference: str | None = None
) -> Erasure:
    """Erase the person's information, keeping what the law requires (PIPL 47, 73; GB/T 35273
    3.14, 8.3, 8.5).

    ``reason`` (for example ``"deletion request"`` or ``"account cancellation"``) and
    ``reference`` (the request's id) are kept on the record and must not themselves carry
    personal information. Refused with :class:`SubjectAlreadyErased` (409) when the person
    was erased before: then nothing changes. Flushes, never commits.
    """
    if subject.org_id != org.id:
        raise NotFound("no such subject")
    _check(reason, reference)
    if subject.erased_at is not None:
        raise SubjectAlreadyErased(f"the information of subject {subject.id} was erased already")
    db.session.flush()
    # The chain lock also serializes two erasures of one person: the second finds none.
    writer = ChainWriter(org, now)
    chain = writer.lock([subject.external_id]).get(subject.external_id)
    if chain is None:
        raise SubjectAlreadyErased(f"the information of subject {subject.id} was erased already")
    withdrawn = _withdraw_all(writer, chain, now, reference)

    events = list(
        db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.subject_id == subject.id).order_by(ConsentEvent.seq)
        )
    )
    listed = []
    for event in events:
        row = EventRow.from_model(event)
        redacted = redact(row)
        if redacted != row:
            event.evidence = redacted.evidence
            event.actor_name = redacted.actor_name
            event.actor_relationship = redacted.actor_relationship
            event.actor_reason = redacted.actor_reason
            listed.append([row.seq, row.hash, redacted_digest(redacted)])
        # A digest of the act as asked, evidence and actor included; the chain does not cover it.
        event.idempotency_fingerprint = None
    receipts = erase_receipts([e.id for e in events])

    alias = _free_pseudonym(org.id, pseudonym(org.id, subject.external_id))
    subject.external_id = alias
    for name in ERASED_FIELDS:
        setattr(subject, name, None)
    subject.erased_at = now
    subject.updated_at = now
    links = lookup(SignInArtefacts)(subject.id)

    record = SubjectErasure(
        org_id=org.id,
        subject_id=subject.id,
        erased_at=now,
        reference=reference,
        reason=reason,
        events=listed,
        receipts=[list(item) for item in receipts],
    )
    record.kid, record.jws = keys.sign(record_payload(record, alias), now, typ=ERASURE_TYPE)
    db.session.add(record)
    db.session.flush()
    return Erasure(
        pseudonym=alias,
        erased_at=now,
        consents_withdrawn=withdrawn,
        events_redacted=len(listed),
        receipts_erased=len(receipts),
        sign_in_links_deleted=links,
    )


def find_erased(org: Organization, external_id: str) -> list[Subject]:
    """The erased records of the person the company knows as ``external_id``, oldest first:
    what the company shows, in a dispute, to have been theirs (PIPL 73(3))."""
    alias = pseudonym(org.id, external_id)
    return list(
        db.session.scalars(
            select(Subject)
            .where(
                Subject.org_id == org.id,
                Subject.erased_at.is_not(None),
                _named(alias),
            )
            .order_by(Subject.id)
        )
    )


def withdrawal_reason(reference: str | None) -> str:
    """The reason the erasure's withdrawals give (a system act names no person)."""
    base = "erasure of the person's information (PIPL 47; GB/T 35273 8.3, 8.5)"
    return base if reference is None else f"{base}, request {reference}"


def _check(reason: str, reference: str | None) -> None:
    """:class:`InvalidInput` for a reason or reference that is not short text."""
    errors: dict[str, list[str]] = {}
    if not _is_text(reason, 1000):
        errors["reason"] = ["must be text of 1-1000 characters"]
    if reference is not None and not _is_text(reference, 200):
        errors["reference"] = ["must be text of 1-200 characters"]
    if errors:
        raise InvalidInput("invalid erasure", errors)


def _is_text(value: object, limit: int) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def _withdraw_all(writer: ChainWriter, chain, now: datetime, reference: str | None) -> int:
    """Withdraw every consent of the person still granted, as one act of the system written
    like any other (hashed, chained, the state moved, ``consent.withdrawn`` queued); return
    how many."""
    purpose_ids = db.session.scalars(
        select(ConsentState.purpose_id).where(ConsentState.subject_id == chain.id)
    ).all()
    writer.load_states((chain.id, purpose_id) for purpose_id in purpose_ids)
    due = sorted(key for key, state in writer.states.items() if state.status == "granted")
    if not due:
        return 0
    writer.reserve(len(due))
    actor = Actor(kind="system", reason=withdrawal_reason(reference))
    bundle_id = str(uuid.uuid4())
    for key in due:
        state = writer.states[key]
        writer.append(
            chain,
            _version(key[1], state.purpose_version),
            None,
            action="withdraw",
            consent_type=None,
            method="system",
            actor=actor,
            evidence={},
            # A grant stamped up to the allowed clock skew ahead is withdrawn at its own time.
            occurred_at=max(now, state.occurred_at),
            bundle_id=bundle_id,
            bundle_size=len(due),
            idempotency_key=None,
            is_subject_initiated=False,
        )
    writer.write()
    return len(due)


def _version(purpose_id: int, number: int) -> PurposeVersion:
    """The version of a purpose a consent was given to (what its withdrawal names)."""
    purpose = db.session.get(Purpose, purpose_id)
    return next(v for v in purpose.versions if v.version == number)


def _named(alias: str):
    """The condition for a person's rows under ``alias`` or ``alias.N``."""
    return or_(Subject.external_id == alias, Subject.external_id.startswith(alias + ".", autoescape=True))


def _free_pseudonym(org_id: int, alias: str) -> str:
    """``alias``, or ``alias.2``, ``alias.3``... when the same company id was erased before (a
    person who came back under the id they had)."""
    taken = set(
        db.session.scalars(
            select(Subject.external_id).where(
                Subject.org_id == org_id,
                _named(alias),
            )
        )
    )
    if alias not in taken:
        return alias
    number = 2
    while f"{alias}.{number}" in taken:
        number += 1
    return f"{alias}.{number}"
