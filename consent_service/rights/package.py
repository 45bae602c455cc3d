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
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.i18n import BABEL_LOCALES
from consent_service.organizations.models import Organization, PICategory
from consent_service.rights.holdings import (
    SystemResult,
    consent_history,
    consent_state,
    iso,
    request_records,
    subject_record,
    system_record,
)
from consent_service.rights.messages import local_time
from consent_service.rights.models import RightsRequest
from consent_service.rights.types import REQUEST_TYPES

FORMAT = "consent_service.rights-package"
FORMAT_VERSION = 1
SUMMARY_TEMPLATE = "rights/package_summary.html"
#: A CSV cell starting with one of these is read as a formula by spreadsheets (OWASP: CSV
#: injection); such text is written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: How much of a system's answer the summary shows; the whole answer is in its JSON file.
SUMMARY_DATA_CHARS = 20000


# --- file formats -----------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo else value.isoformat()
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
        "generated_at": iso(now),
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
    with force_locale(BABEL_LOCALES["zh" if zh else "en"]):
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
