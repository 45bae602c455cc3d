"""The access, copy and transfer package of a rights request (查阅、复制、转移; PIPL 45, GB/T
35273 8.1 and 8.6): everything this service holds about the person, and what the organization's
data systems returned, as JSON and CSV in a zip with a readable summary.

``build`` reads the ledger and the requests through the session and writes nothing; the same
inputs and clock give the same bytes (sorted keys, fixed zip times), so a package can be compared
and its manifest's hashes checked. Only the person's own rows are read: requests of anyone else
are refused, and the requests' secrets (identity codes, the requester's contact, officers' notes
and names) are left out.

Files: ``summary.html`` (the requester's language), ``subject.json``, ``consent_state`` and
``consent_history`` (the hash chain, with each grant's signed Kantara receipt), ``rights_requests``
(each ``.json`` and ``.csv``), ``systems/<system>.json`` and ``manifest.json`` (every other file's
SHA-256).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import select

from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.extensions import db
from consent_service.organizations.models import Organization, PICategory
from consent_service.policies.models import PolicyVersion, Purpose, PurposeVersion
from consent_service.receipts.models import ConsentReceipt
from consent_service.rights.messages import local_time
from consent_service.rights.models import RightsRequest
from consent_service.rights.timeline import timeline
from consent_service.rights.types import REQUEST_TYPES

FORMAT = "consent_service.rights-package"
FORMAT_VERSION = 1
SUMMARY_TEMPLATE = "rights/package_summary.html"
#: A CSV cell starting with one of these is read as a formula by spreadsheets (OWASP: CSV
#: injection); such text is written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: How much of a system's answer the summary shows; the whole answer is in its JSON file.
SUMMARY_DATA_CHARS = 20000


@dataclass(frozen=True)
class SystemResult:
    """What one of the organization's data systems returned for the person: the system's
    name, the PI categories it holds (GB/T 35273 Annex A codes), its data (anything JSON can
    hold), and when it answered."""

    system: str
    categories: tuple[str, ...]
    data: Any
    answered_at: datetime


# --- plain data -------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def subject_record(subject: Subject) -> dict[str, Any]:
    """The person as this service knows them (including a guardian named for a child, PIPL 31)."""
    return {
        "id": subject.external_id,
        "email": subject.email,
        "phone": subject.phone,
        "birth_date": subject.birth_date.isoformat() if subject.birth_date else None,
        "is_under_14": subject.is_under_14,
        "guardian": {
            "name": subject.guardian_name,
            "relationship": subject.guardian_relationship,
            "contact": subject.guardian_contact,
        },
        "created_at": _iso(subject.created_at),
        "updated_at": _iso(subject.updated_at),
    }


def consent_history(subject: Subject) -> list[dict[str, Any]]:
    """Every consent event of the person, oldest first, with its place in the hash chain and,
    for a grant, the signed receipt (JWS) it was issued."""
    rows = db.session.execute(
        select(ConsentEvent, Purpose.code, PolicyVersion.label, ConsentReceipt)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(PolicyVersion, PolicyVersion.id == ConsentEvent.policy_version_id)
        .outerjoin(ConsentReceipt, ConsentReceipt.event_id == ConsentEvent.id)
        .where(ConsentEvent.subject_id == subject.id)
        .order_by(ConsentEvent.seq)
    )
    history = []
    for event, purpose_code, policy_label, receipt in rows:
        history.append(
            {
                "id": event.uuid,
                "seq": event.seq,
                "purpose": purpose_code,
                "purpose_version": event.purpose_version,
                "policy_version": policy_label,
                "action": event.action,
                "consent_type": event.consent_type,
                "actor": {
                    "kind": event.actor_kind,
                    "name": event.actor_name,
                    "relationship": event.actor_relationship,
                    "reason": event.actor_reason,
                },
                "method": event.method,
                "evidence": event.evidence or {},
                "is_subject_initiated": event.is_subject_initiated,
                "bundle_id": event.bundle_id,
                "occurred_at": _iso(event.occurred_at),
                "recorded_at": _iso(event.recorded_at),
                "expires_at": _iso(event.expires_at),
                "prev_hash": event.prev_hash,
                "hash": event.hash,
                "receipt": (
                    {"id": receipt.receipt_id, "kid": receipt.kid, "jws": receipt.jws} if receipt else None
                ),
            }
        )
    return history


def consent_state(subject: Subject, history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The person's current consent per purpose: its status, the version and policy consented
    to, when it was last granted and withdrawn, when it lapses; and what the purpose processes
    and who receives it (PIPL 45: types, purpose, recipients)."""
    rows = db.session.execute(
        select(ConsentState, Purpose.code, PurposeVersion)
        .join(Purpose, Purpose.id == ConsentState.purpose_id)
        .join(
            PurposeVersion,
            (PurposeVersion.purpose_id == ConsentState.purpose_id)
            & (PurposeVersion.version == ConsentState.purpose_version),
        )
        .where(ConsentState.subject_id == subject.id)
        .order_by(Purpose.code)
    )
    by_event = {event["id"]: event for event in history}
    last: dict[tuple[str, str], str] = {}
    for event in history:  # oldest first: the latest of each kind wins
        last[(event["purpose"], event["action"])] = event["occurred_at"]
    states = []
    for state, code, version in rows:
        event = by_event.get(state.event_uuid, {})
        states.append(
            {
                "purpose": code,
                "name_zh": version.name_zh,
                "name_en": version.name_en,
                "purpose_version": state.purpose_version,
                "function_kind": version.function_kind,
                "legal_basis": version.legal_basis,
                "pi_categories": list(version.pi_categories or []),
                "is_sensitive": version.is_sensitive,
                "recipients": [r.get("name") for r in version.recipients or []],
                "cross_border_recipients": [
                    f"{r.get('name')} ({r.get('country')})" for r in version.cross_border_recipients or []
                ],
                "status": state.status,
                "consent_type": state.consent_type,
                "policy_version": event.get("policy_version"),
                "granted_at": last.get((code, "grant")),
                "withdrawn_at": last.get((code, "withdraw")),
                "changed_at": _iso(state.occurred_at),
                "expires_at": _iso(state.expires_at),
                "consent_event_id": state.event_uuid,
            }
        )
    return states


def request_records(subject: Subject, requests: Iterable[RightsRequest]) -> list[dict[str, Any]]:
    """The person's rights requests with their timelines. What identifies others or could be
    misused is left out: the requester's name, contact and proof, the details asked, identity
    codes, and who (which officer or client) did each step."""
    records = []
    for request in sorted(requests, key=lambda r: (r.received_at, r.public_id)):
        if request.subject_id != subject.id:
            raise ValueError("a package holds the requests of its own person only")
        records.append(
            {
                "id": request.public_id,
                "type": request.type,
                "regime": request.regime,
                "status": request.status,
                "channel": request.channel,
                "requester_kind": request.requester_kind,
                "received_at": _iso(request.received_at),
                "identity_verified_at": _iso(request.identity_verified_at),
                "due_at": _iso(request.due_at),
                "extended_at": _iso(request.extended_at),
                "closed_at": _iso(request.closed_at),
                "refusal_ground": request.refusal_ground,
                "refusal_explanation": request.refusal_explanation,
                "complaint_channel": request.complaint_channel,
                "timeline": [
                    {
                        "seq": event.seq,
                        "at": _iso(event.at),
                        "action": event.action,
                        "from_status": event.from_status,
                        "to_status": event.to_status,
                        "actor_kind": event.actor_kind,
                    }
                    for event in timeline(request)
                ],
            }
        )
    return records


def system_record(result: SystemResult) -> dict[str, Any]:
    """One system's answer as its file holds it."""
    return {
        "system": result.system,
        "categories": list(result.categories),
        "answered_at": _iso(result.answered_at),
        "data": result.data,
    }


# --- file formats -----------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_file(value: Any) -> bytes:
    """Readable, deterministic JSON: sorted keys, indented, UTF-8 (Chinese as it is)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=_json_default)
    return (text + "\n").encode()


def csv_cell(value: Any) -> str:
    """A cell as text; text a spreadsheet would run as a formula is prefixed with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        value = "; ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_file(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """CSV with a header, UTF-8 with a byte-order mark (so that Excel reads Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return ("\ufeff" + buffer.getvalue()).encode()


STATE_COLUMNS = (
    "purpose", "name_zh", "name_en", "purpose_version", "status", "consent_type", "policy_version",
    "granted_at", "withdrawn_at", "changed_at", "expires_at", "legal_basis", "pi_categories",
    "is_sensitive", "recipients", "cross_border_recipients", "consent_event_id",
)  # fmt: skip
HISTORY_COLUMNS = (
    "seq", "id", "occurred_at", "recorded_at", "purpose", "purpose_version", "policy_version",
    "action", "consent_type", "method", "actor_kind", "actor_name", "actor_relationship",
    "is_subject_initiated", "expires_at", "evidence", "bundle_id", "prev_hash", "hash", "receipt_id",
)  # fmt: skip
REQUEST_COLUMNS = (
    "id", "type", "regime", "status", "channel", "requester_kind", "received_at",
    "identity_verified_at", "due_at", "extended_at", "closed_at", "refusal_ground",
    "refusal_explanation", "complaint_channel", "steps",
)  # fmt: skip


def _history_rows(history: Sequence[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for event in history:
        actor = event["actor"]
        receipt = event["receipt"] or {}
        yield event | {
            "actor_kind": actor["kind"],
            "actor_name": actor["name"],
            "actor_relationship": actor["relationship"],
            "receipt_id": receipt.get("id"),
        }


def _request_rows(records: Sequence[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for record in records:
        yield record | {"steps": len(record["timeline"])}


def system_file_names(results: Sequence[SystemResult]) -> list[str]:
    """``systems/<slug>.json`` for each result, in order: the name's letters and digits in
    lower case, ``system-<n>`` for a name without any, ``-2``, ``-3`` for repeats."""
    names: list[str] = []
    for number, result in enumerate(results, 1):
        slug = re.sub(r"[^a-z0-9]+", "-", result.system.lower()).strip("-")[:60] or f"system-{number}"
        name, repeat = slug, 1
        while f"systems/{name}.json" in names:
            repeat += 1
            name = f"{slug}-{repeat}"
        names.append(f"systems/{name}.json")
    return names


# --- the package ------------------------------------------------------------------------------


def build(
    org: Organization,
    subject: Subject,
    *,
    requests: Sequence[RightsRequest],
    system_results: Sequence[SystemResult],
    language: str,
    now: datetime,
) -> bytes:
    """The zip of everything held about ``subject`` (PIPL 45, GB/T 35273 8.1, 8.6), with the
    summary in ``language`` (zh-CN or en). Nothing is written."""
    if subject.org_id != org.id:
        raise ValueError("the person is not the organization's")
    history = consent_history(subject)
    states = consent_state(subject, history)
    records = request_records(subject, requests)
    system_names = system_file_names(system_results)
    files: list[tuple[str, bytes]] = [
        ("subject.json", json_file(subject_record(subject))),
        ("consent_state.json", json_file(states)),
        ("consent_state.csv", csv_file(STATE_COLUMNS, states)),
        ("consent_history.json", json_file(history)),
        ("consent_history.csv", csv_file(HISTORY_COLUMNS, _history_rows(history))),
        ("rights_requests.json", json_file(records)),
        ("rights_requests.csv", csv_file(REQUEST_COLUMNS, _request_rows(records))),
    ]
    for name, result in zip(system_names, system_results, strict=True):
        files.append((name, json_file(system_record(result))))
    summary = _summary(org, subject, states, history, records, system_results, system_names, language, now)
    files.insert(0, ("summary.html", summary.encode()))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": _iso(now),
        "language": language,
        "organization": {"slug": org.slug, "name_zh": org.name_zh, "name_en": org.name_en},
        "subject": subject.external_id,
        "requests": [r["id"] for r in records],
        "files": [
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in files
        ],
    }
    files.append(("manifest.json", json_file(manifest)))
    return _zip(files, now, org.timezone)


def _zip(files: Sequence[tuple[str, bytes]], now: datetime, timezone: str) -> bytes:
    """The files deflated, each stamped with the package's time (in the organization's zone,
    as zip times are local) and the same attributes: the bytes depend on the content alone."""
    stamp = now.astimezone(ZoneInfo(timezone)).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


# --- the summary ------------------------------------------------------------------------------

CONSENT_STATUSES = {
    "granted": ("已同意", "granted"),
    "withdrawn": ("已撤回", "withdrawn"),
    "refused": ("已拒绝", "refused"),
    "expired": ("已过期", "expired"),
    "invalidated": ("已失效", "invalidated"),
}
REQUEST_STATUSES = {
    "received": ("已收到", "received"),
    "verifying_identity": ("核实身份中", "verifying identity"),
    "in_progress": ("处理中", "in progress"),
    "awaiting_requester": ("等待您的答复", "waiting for you"),
    "awaiting_systems": ("等待业务系统", "waiting for our systems"),
    "completed": ("已完成", "completed"),
    "refused": ("未能满足", "refused"),
    "withdrawn_by_requester": ("已撤回", "withdrawn by you"),
    "expired_unverified": ("身份未核实，已结束", "ended: identity not verified"),
}


def _summary(
    org: Organization,
    subject: Subject,
    states: Sequence[dict[str, Any]],
    history: Sequence[dict[str, Any]],
    records: Sequence[dict[str, Any]],
    results: Sequence[SystemResult],
    system_names: Sequence[str],
    language: str,
    now: datetime,
) -> str:
    """``summary.html`` from plain data (the template gets no ORM objects; autoescaped)."""
    zh = not language.lower().startswith("en")

    def pick(pair: tuple[str, str]) -> str:
        return pair[0] if zh else pair[1]

    def when(value: str | datetime | None) -> str:
        if value is None:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return local_time(moment, org.timezone)

    codes = sorted(
        {c for s in states for c in s["pi_categories"]} | {c for r in results for c in r.categories}
    )
    names = {
        c.code: pick((c.name_zh, c.name_en))
        for c in db.session.scalars(select(PICategory).where(PICategory.code.in_(codes)))
    }
    consents = [
        {
            "name": s["name_zh"] if zh else s["name_en"],
            "code": s["purpose"],
            "status": pick(CONSENT_STATUSES.get(s["status"], (s["status"], s["status"]))),
            "policy_version": s["policy_version"] or "",
            "granted_at": when(s["granted_at"]),
            "withdrawn_at": when(s["withdrawn_at"]),
            "expires_at": when(s["expires_at"]),
            "categories": [names.get(c, c) for c in s["pi_categories"]],
            "recipients": s["recipients"] + s["cross_border_recipients"],
        }
        for s in states
    ]
    requests = [
        {
            "id": r["id"],
            "type": pick((REQUEST_TYPES[r["type"]].name_zh, REQUEST_TYPES[r["type"]].name_en)),
            "status": pick(REQUEST_STATUSES.get(r["status"], (r["status"], r["status"]))),
            "received_at": when(r["received_at"]),
            "due_at": when(r["due_at"]),
            "closed_at": when(r["closed_at"]),
        }
        for r in records
    ]
    systems = []
    for name, result in zip(system_names, results, strict=True):
        text = json.dumps(result.data, ensure_ascii=False, sort_keys=True, indent=2, default=_json_default)
        systems.append(
            {
                "name": result.system,
                "file": name,
                "categories": [names.get(c, c) for c in result.categories],
                "answered_at": when(result.answered_at),
                "data": text[:SUMMARY_DATA_CHARS],
                "is_cut": len(text) > SUMMARY_DATA_CHARS,
            }
        )
    return render_template(
        SUMMARY_TEMPLATE,
        lang="zh" if zh else "en",
        org={
            "name": org.name_zh if zh else org.name_en,
            "contact_email": org.contact_email,
            "officer": org.pipo_name,
            "officer_contact": org.pipo_contact,
        },
        subject_id=subject.external_id,
        generated_at=when(now),
        consents=consents,
        history_count=len(history),
        requests=requests,
        systems=systems,
    )
