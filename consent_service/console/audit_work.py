"""What the console's audit pages show, as plain data: a page of the trail with the staff
named beside their ids and each entry's changes as field, before and after; the trail's head;
the check of the whole trail. Reads only; the pages render."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from consent_service.audit.report import VerifyReport
from consent_service.audit.trail import trail_head
from consent_service.audit.trail_checks import verify_trail
from consent_service.audit.trail_export import TrailFilter, trail_page
from consent_service.audit.verifications import described, newest_verification
from consent_service.extensions import db
from consent_service.i18n import local_datetime
from consent_service.organizations.models import Organization
from consent_service.staff.models import StaffMember

_STAFF_PREFIX = "staff:"


def _shown(value: Any) -> str:
    """A detail's value as text: a string as it is, anything else as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _changes(details: dict[str, Any] | None) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The changed fields (field, before, after) and the other details (name, value)."""
    if not isinstance(details, dict):
        return [], ([{"name": "", "value": _shown(details)}] if details is not None else [])
    before = details.get("before") if isinstance(details.get("before"), dict) else {}
    after = details.get("after") if isinstance(details.get("after"), dict) else {}
    fields = list(before) + [name for name in after if name not in before]
    changes = [
        {"field": name, "before": _shown(before.get(name)), "after": _shown(after.get(name))}
        for name in fields
    ]
    others = [
        {"name": name, "value": _shown(value)}
        for name, value in sorted(details.items())
        if not (name in ("before", "after") and isinstance(value, dict))
    ]
    return changes, others


def _staff_id(entry: dict[str, Any]) -> int | None:
    actor = entry["actor"] or ""
    if entry["actor_kind"] != "staff" or not actor.startswith(_STAFF_PREFIX):
        return None
    number = actor[len(_STAFF_PREFIX) :]
    return int(number) if number.isdigit() else None


def _staff_names(org: Organization, entries: list[dict[str, Any]]) -> dict[int, str]:
    """The names of the organization's staff who acted in ``entries``, in one query."""
    ids = {staff_id for staff_id in map(_staff_id, entries) if staff_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(StaffMember.id, StaffMember.name).where(StaffMember.org_id == org.id, StaffMember.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


def head(org: Organization) -> dict[str, Any] | None:
    """The trail's head: its newest number and hash."""
    found = trail_head(org.id)
    return {"seq": found[0], "hash": found[1]} if found is not None else None


def trail(org: Organization, chosen: TrailFilter, lang: str) -> dict[str, Any]:
    """One page of the trail (newest first) as ``entries``, the ``before_seq`` of the older page
    (``older``, or ``None``), and the trail's ``head``."""
    entries, older = trail_page(org.id, chosen)
    names = _staff_names(org, entries)
    rows = []
    for entry in entries:
        changes, others = _changes(entry["details"])
        staff_id = _staff_id(entry)
        rows.append(
            {
                "seq": entry["seq"],
                "at": local_datetime(entry["at"], org.timezone, lang),
                "actor_kind": entry["actor_kind"],
                "actor": entry["actor"],
                "actor_name": names.get(staff_id) if staff_id is not None else None,
                "action": entry["action"],
                "target": entry["target"],
                "outcome": entry["outcome"],
                "changes": changes,
                "others": others,
            }
        )
    return {"entries": rows, "older": older, "head": head(org)}


def verification(org: Organization, lang: str) -> dict[str, Any]:
    """The check of the organization's whole trail: each entry's hash, each link, no gap, the
    head at the newest entry. ``intact``, the number of ``entries`` walked, the ``problems``
    in the order met (the first broken entry first); and ``ledger``, the newest full
    verification of the ledger by the scheduled job (``None`` before the first)."""
    report = VerifyReport(org=org.slug)
    verify_trail(org.id, report)
    return {
        "intact": report.ok,
        "entries": report.trail_entries,
        "problems": list(report.problems),
        "head": head(org),
        "ledger": _ledger(org, lang),
    }


def _ledger(org: Organization, lang: str) -> dict[str, Any] | None:
    row = newest_verification(org.id)
    if row is None:
        return None
    return {**described(row), "at": local_datetime(row.verified_at, org.timezone, lang)}
