"""The compliance records of an organization as signed records (:class:`~.document.Record`):
the record of processing activities, the privacy policy archive, the compliance report of a
period and a rights request's reply and completion record, each with its tables as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consent_service.organizations.models import Organization
from consent_service.records.consent_records import organization_of
from consent_service.records.document import Record
from consent_service.records.policy_archive import policy_archive
from consent_service.records.processing import processing_record
from consent_service.records.request_record import request_record

PROCESSING_TITLE = "个人信息处理活动记录 Record of processing activities"
ARCHIVE_TITLE = "个人信息保护政策存档 Privacy policy archive"
REPORT_TITLE = "个人信息保护合规报告 Compliance report"
REQUEST_TITLE = "个人信息权利请求答复记录 Rights request record"


def processing(org: Organization, now: datetime) -> Record:
    """The record of processing activities (GB/T 35273 11.3) as of ``now``."""
    data = processing_record(org, now)
    rows = [["purpose", "version", "legal_basis", "pi_categories", "sensitive", "consents_in_force",
             "consents_withdrawn", "recipients", "cross_border", "retention_days", "systems"]]  # fmt: skip
    rows += [
        [a["purpose"], a["version"], a["legal_basis"], " ".join(c["code"] for c in a["categories"]),
         a["sensitive"], a["consents_in_force"], a["consents_withdrawn"],
         "; ".join(r["name"] for r in a["recipients"]), "; ".join(r["name"] for r in a["cross_border"]),
         a["retention_days"], "; ".join(a["systems"])]
        for a in data["activities"]
    ]  # fmt: skip
    return Record(
        "processing_activities", "pdf/processing.html", organization_of(org), data, {"activities": rows}
    )


def archive(org: Organization) -> Record:
    """Every published version of the privacy policy (PIPL 17; GB/T 35273 5.5)."""
    data = policy_archive(org)
    rows = [["label", "seq", "published_at", "effective_at", "material", "content_sha256"]]
    rows += [
        [v["label"], v["seq"], v["published_at"], v["effective_at"], v["material"], v["content_sha256"]]
        for v in data["versions"]
    ]
    return Record("policy_archive", "pdf/policy_archive.html", organization_of(org), data, {"versions": rows})


def report(org: Organization, data: dict[str, Any]) -> Record:
    """The compliance report of a period (PIPL 54) from its figures
    (:func:`~consent_service.records.report.compliance_report`) and the files of full data
    attached to it (``attached``: file, rows, bytes, SHA-256)."""
    consents = [["purpose", "act", "count"]] + [
        [row["purpose"], act, count] for row in data["consents"] for act, count in row["acts"].items()
    ]
    requests = [["type", "status", "count"]] + [
        [r["type"], r["status"], r["count"]] for r in data["requests"]
    ]
    overdue = [["id", "type", "status", "due_at"]] + [
        [r["id"], r["type"], r["status"], r["due_at"]] for r in data["overdue"]
    ]
    attached = [["file", "rows", "bytes", "sha256"]] + [
        [f["file"], f["rows"], f["bytes"], f["sha256"]] for f in data["attached"]
    ]
    tables = {"consents": consents, "requests": requests, "overdue": overdue, "attached": attached}
    return Record("compliance_report", "pdf/compliance_report.html", organization_of(org), data, tables)


def rights_request(org: Organization, public_id: str) -> Record:
    """The reply and completion record of one rights request (PIPL 44-50; GB/T 35273 8.7)."""
    data = request_record(org, public_id)
    timeline = [["seq", "at", "action", "from", "to", "actor", "note"]] + [
        [e["seq"], e["at"], e["action"], e["from"], e["to"], e["actor"], e["note"]] for e in data["timeline"]
    ]
    tasks = [["system", "action", "status", "opened_at", "answered_at", "carried_out_at"]] + [
        [t["system"], t["action"], t["status"], t["opened_at"], t["answered_at"], t["carried_out_at"]]
        for t in data["tasks"]
    ]
    return Record(
        "rights_request",
        "pdf/request_record.html",
        organization_of(org),
        data,
        {"timeline": timeline, "tasks": tasks},
    )
