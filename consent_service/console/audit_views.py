"""The auditor's pages of the console (PIPL 54; GB/T 35273 11.7): the organization's audit
trail filtered and paged, the check of the whole trail, and its export as CSV or JSON Lines,
streamed in constant memory. Every export is itself recorded in the trail when it starts."""

from __future__ import annotations

from dataclasses import replace

from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext

from consent_service.audit.trail import ACTOR_KINDS
from consent_service.audit.trail_export import (
    TrailFilter,
    csv_chunks,
    export_entries,
    jsonl_chunks,
    trail_filter,
)
from consent_service.clock import utcnow
from consent_service.console import audit_work, pages
from consent_service.console import session as console_session
from consent_service.console.acting import staff_action
from consent_service.errors import InvalidInput
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization

bp = pages.blueprint("console_audit", __name__)

#: The action prefixes offered beside the action field.
ACTION_PREFIXES = ("console:", "api:", "command:", "job:")
#: Each export format: its file name's extension and its media type.
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}


def _filter_errors(exc: InvalidInput) -> dict[str, str]:
    """The filter's wrong fields, as the page says them beside each."""
    details = exc.details or {}
    errors = {}
    if "actor_kind" in details:
        errors["actor_kind"] = gettext("Choose one of the kinds in the list.")
    for field in ("from", "to"):
        if any("not a date" in problem for problem in details.get(field, [])):
            errors[field] = gettext("Enter a date such as 2026-11-02.")
    if any("before the first day" in problem for problem in details.get("to", [])):
        errors["to"] = gettext("The last day is before the first day.")
    if "before_seq" in details:
        errors["form"] = gettext("This page of the trail does not exist: start from the newest.")
    return errors


def _chosen_values() -> dict[str, str]:
    """What the filter form shows: the fields as they were asked for."""
    return {name: request.args.get(name, "") for name in ("actor_kind", "actor", "action", "from", "to")}


def _trail_page(org: Organization, lang: str, data: dict, errors: dict[str, str], status: int = 200):
    page = render_template(
        "console/audit/trail.html",
        lang=lang,
        org=pages.org_view(org, lang),
        active="audit",
        kinds=ACTOR_KINDS,
        prefixes=ACTION_PREFIXES,
        chosen=_chosen_values(),
        errors=errors,
        **data,
    )
    return page, status


def _filtered(org: Organization, lang: str) -> tuple[TrailFilter | None, tuple | None]:
    """The filter asked for, or the page that says what is wrong with it (400)."""
    try:
        return trail_filter(request.args, org.timezone), None
    except InvalidInput as exc:
        data = {"entries": [], "older": None, "head": audit_work.head(org), "query": {}, "paged": False}
        return None, _trail_page(org, lang, data, _filter_errors(exc), 400)


@bp.get("/<slug>/audit")
def trail(slug: str):
    """The organization's trail, newest first, 100 entries a page; filtered by actor kind,
    actor, action (or action prefix) and period."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, "audit:read")
    chosen, refused = _filtered(org, lang)
    if refused is not None:
        return refused
    data = audit_work.trail(org, chosen, lang)
    paging = {"query": chosen.query(), "paged": chosen.before_seq is not None}
    return _trail_page(org, lang, {**data, **paging}, {})


@bp.get("/<slug>/audit/verify")
def verify(slug: str):
    """The check of the whole trail: intact, or the first broken entry named (every entry is
    read, so it has its own page)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, "audit:read")
    result = audit_work.verification(org, lang)
    page = render_template(
        "console/audit/verify.html", lang=lang, org=pages.org_view(org, lang), active="audit", result=result
    )
    return page, 200


def _export(slug: str, file_format: str):
    """Record the export in the trail, then stream the entries the filter keeps, oldest first."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, "records:export")
    chosen, refused = _filtered(org, lang)
    if refused is not None:
        return refused
    chosen = replace(chosen, before_seq=None)  # an export is the whole of what the filter keeps
    org_id, org_slug = org.id, org.slug
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    with staff_action(org, member, "audit.export", f"audit_trail:{org_id}") as change:
        change.extra = {"format": file_format, "filters": chosen.described()}
    entries = export_entries(org_id, chosen)
    chunks = csv_chunks(entries) if file_format == "csv" else jsonl_chunks(entries)
    response = Response(stream_with_context(chunks), mimetype=FORMATS[file_format])
    filename = f"audit-trail-{org_slug}-{stamp}.{file_format}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/<slug>/audit/export.csv")
def export_csv(slug: str):
    """The filtered trail as CSV: a header row, the details as canonical JSON in one column,
    each row with its ``hash`` and ``prev_hash``."""
    return _export(slug, "csv")


@bp.get("/<slug>/audit/export.jsonl")
def export_jsonl(slug: str):
    """The filtered trail as JSON Lines: one canonical JSON object per entry."""
    return _export(slug, "jsonl")
