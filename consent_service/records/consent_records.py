"""The plain data of the consent records, read from the ledger.

- :func:`receipt_record`: the receipt of one consent act, its Kantara content and its JWS
  (PIPL 14: consent informed, voluntary and explicit; GB/T 35273 5.4: evidence of consent kept);
- :func:`subject_record`: the consent history of one person, every event with its time,
  purpose, act, method, policy version and receipt (PIPL 14-16, 44: the person may know and
  withdraw; GB/T 35273 11.7: records of consent kept). Read in one statement, however long,
  and printed a line per event (:func:`history_lines`).
"""

from __future__ import annotations

import json
from base64 import urlsafe_b64decode
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select

from consent_service.consent.hashing import iso_utc
from consent_service.consent.models import ConsentEvent, Subject
from consent_service.consent.subjects import get_subject
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, Purpose, PurposeVersion
from consent_service.receipts.models import ConsentReceipt
from consent_service.receipts.service import get_receipt, token_sha256
from consent_service.records.document import Record
from consent_service.records.text_table import text_table

RECEIPT_KIND = "consent-receipt"
SUBJECT_KIND = "consent-record"

#: The columns of a person's history, as ``events.csv`` writes them.
EVENT_COLUMNS = (
    "seq", "occurred_at", "purpose", "purpose_name", "purpose_version", "action", "consent_type",
    "method", "actor_kind", "policy_version", "receipt_id", "receipt_jws_sha256", "receipt_jws",
    "event_hash",
)  # fmt: skip

#: The act of an event as the record prints it, in both languages.
ACT_WORDS = {
    "grant": "同意 grant", "withdraw": "撤回 withdraw", "refuse": "拒绝 refuse", "expire": "到期 expire",
    "invalidate": "失效 invalidate",
}  # fmt: skip
#: The hex digits of a receipt's JWS SHA-256 printed in a history; the whole is in the data.
PRINTED_SHA256 = 12
#: The columns of a printed history, in Chinese and in English. The purpose, free text of any
#: length, comes last, so that a long name wraps under itself and moves no other column.
HISTORY_HEADINGS = (
    ("序号", "时间", "方式", "政策", "收据", f"JWS SHA-256 前 {PRINTED_SHA256} 位", "行为", "目的"),
    ("No.", "Time", "Method", "Policy", "Receipt", f"JWS SHA-256, first {PRINTED_SHA256}", "Act", "Purpose"),
)
#: The cells of a line of the printed history: A4 landscape less its side margins (297 mm - 2 x
#: 18 mm, static/pdf/record.css) in cells of half the history's 7.5 pt (.text-table): 261 mm /
#: 3.75 pt = 197.3, one cell kept for the rounding of the odd wider character.
HISTORY_CELLS = 196


def organization_of(org: Organization) -> dict[str, Any]:
    """The organization as every record's header names it (PIPL 52, GB/T 11.1)."""
    officer = (
        {"name": org.pipo_name, "contact": org.pipo_contact} if org.pipo_name or org.pipo_contact else None
    )
    return {
        "slug": org.slug,
        "name": f"{org.name_zh} {org.name_en}",
        "officer": officer,
        "timezone": org.timezone,
    }


def local_time(value: datetime | None, timezone: str) -> str | None:
    """A time in the organization's zone, written the same for both languages."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %z")


def generated_text(org: Organization, now: datetime) -> str:
    """When a record was made, as the organization's readers write it, with the zone named."""
    return f"{local_time(now, org.timezone)} ({org.timezone})"


def _claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS the service itself signed and stored (not verified here:
    the record's own signature covers it, and its verification checks the receipt's)."""
    body = token.split(".")[1]
    return json.loads(urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def receipt_record(org: Organization, receipt_id: str) -> Record:
    """The record of one consent receipt of ``org`` (``NotFound``; ``ReceiptErased`` once the
    person's information was erased, PIPL 47)."""
    receipt = get_receipt(org, receipt_id)
    return receipt_record_of(org, receipt)


def receipt_record_of(org: Organization, receipt: ConsentReceipt) -> Record:
    """The record of a receipt already found (and not erased)."""
    claims = _claims(receipt.jws)
    zone = org.timezone
    purposes = [
        {**purpose, "service": service.get("service")}
        for service in claims.get("services", [])
        for purpose in service.get("purposes", [])
    ]
    data = {
        "receipt_id": receipt.receipt_id,
        "kid": receipt.kid,
        "issued_at": iso_utc(receipt.issued_at),
        "issued_at_local": local_time(receipt.issued_at, zone),
        "subject": claims.get("piiPrincipalId"),
        "consented_at": claims.get("consentTimestamp"),
        "policy_url": claims.get("policyUrl"),
        "purposes": purposes,
        "pipl": claims.get("pipl", {}),
        "claims": claims,
        "jws": receipt.jws,
        "jws_sha256": token_sha256(receipt.jws),
    }
    header = ["service", "purpose", "consentType", "piiCategory", "primaryPurpose", "termination"]
    rows = [header] + [
        [p.get("service"), p.get("purpose"), p.get("consentType"), ", ".join(p.get("piiCategory", [])),
         p.get("primaryPurpose"), p.get("termination")]
        for p in purposes
    ]  # fmt: skip
    return Record(RECEIPT_KIND, "pdf/consent_receipt.html", organization_of(org), data, {"purposes": rows})


def subject_record(org: Organization, external_id: str, now: datetime) -> Record:
    """The consent record of the person ``external_id`` of ``org`` (``NotFound``): every event
    of their chain in order, read with its purpose version, policy and receipt in one statement."""
    subject = get_subject(org, external_id)
    return subject_record_of(org, subject, now)


def subject_record_of(org: Organization, subject: Subject, now: datetime) -> Record:
    """The consent record of a person already found."""
    zone = org.timezone
    rows = db.session.execute(
        select(
            ConsentEvent, Purpose.code, PurposeVersion.name_zh, PurposeVersion.name_en, PolicyVersion.label,
            ConsentReceipt.receipt_id, ConsentReceipt.jws, ConsentReceipt.jws_sha256,
        )
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(
            PurposeVersion,
            and_(PurposeVersion.purpose_id == ConsentEvent.purpose_id,
                 PurposeVersion.version == ConsentEvent.purpose_version),
        )
        .outerjoin(PolicyVersion, PolicyVersion.id == ConsentEvent.policy_version_id)
        .outerjoin(ConsentReceipt, ConsentReceipt.event_id == ConsentEvent.id)
        .where(ConsentEvent.subject_id == subject.id)
        .order_by(ConsentEvent.seq)
    ).all()  # fmt: skip
    events = []
    for event, code, name_zh, name_en, policy, receipt_id, jws, erased_sha256 in rows:
        events.append(
            {
                "seq": event.seq,
                "occurred_at": iso_utc(event.occurred_at),
                "occurred_at_local": local_time(event.occurred_at, zone),
                "purpose": code,
                "purpose_name": f"{name_zh} {name_en}" if name_zh else code,
                "purpose_version": event.purpose_version,
                "action": event.action,
                "consent_type": event.consent_type,
                "method": event.method,
                "actor_kind": event.actor_kind,
                "policy_version": policy,
                "receipt_id": receipt_id,
                "receipt_jws_sha256": token_sha256(jws) if jws else erased_sha256,
                "receipt_jws": jws,
                "event_hash": event.hash,
            }
        )
    data = {
        "subject": subject.external_id,
        "is_erased": subject.erased_at is not None,
        "chain_seq": subject.chain_seq,
        "chain_head": subject.chain_head,
        "as_of": iso_utc(now),
        "events": events,
    }
    table = [list(EVENT_COLUMNS)] + [[e[c] for c in EVENT_COLUMNS] for e in events]
    return Record(
        SUBJECT_KIND, "pdf/consent_record.html", organization_of(org), data, {"events": table},
        printed={"history": history_lines(events)},
    )  # fmt: skip


def history_lines(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """A person's history as the record prints it: the heading lines and a line per event
    (:func:`~consent_service.records.text_table.text_table`; more for a purpose too long for
    one), with its sequence number, local time, method, policy version, receipt id and the
    start of the receipt's JWS SHA-256, act (with the consent type) and purpose (name and
    version). A missing value is ``-``, ASCII like the rest of the fixed columns: a dash would
    be wider than its cell."""
    rows = []
    for e in events:
        act = ACT_WORDS.get(e["action"], e["action"])
        sha256 = e["receipt_jws_sha256"]
        rows.append(
            (
                str(e["seq"]),
                e["occurred_at_local"],
                e["method"],
                e["policy_version"] or "-",
                e["receipt_id"] or "-",
                sha256[:PRINTED_SHA256] if sha256 else "-",
                f"{act}, {e['consent_type']}" if e["consent_type"] else act,
                f"{e['purpose_name']} v{e['purpose_version']}",
            )
        )
    return text_table(HISTORY_HEADINGS, rows, right={0}, width=HISTORY_CELLS)
