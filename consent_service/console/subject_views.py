"""The console's people pages: find a person by external id or address, and see their state
per purpose, their consent history and their rights requests (``subjects:read``). Reads only;
:mod:`consent_service.console.subject_work` gathers the data."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console import pages, subject_work
from consent_service.console import session as console_session
from consent_service.errors import NotFound
from consent_service.i18n import page_language

bp = pages.blueprint("console_subjects", __name__)


def _reasons() -> dict[str, str]:
    """Each decision's reason code as the page says it."""
    return {
        "legal_basis": gettext("allowed on another legal basis"),
        "consent_granted": gettext("consent given"),
        "not_given": gettext("no consent given"),
        "refused": gettext("refused"),
        "withdrawn": gettext("withdrawn"),
        "expired": gettext("expired"),
        "reconsent_required": gettext("the purpose or policy changed: consent is asked again"),
        "guardian_required": gettext("a guardian's consent is required"),
        "unknown_subject": gettext("unknown person"),
        "unknown_purpose": gettext("unknown purpose"),
    }


@bp.get("/<slug>/subjects")
def search(slug: str):
    """Find people by external id (exactly, or its beginning) or by email address (exactly)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, "subjects:read")
    query = request.args.get("q", "")[:320]
    found = subject_work.search(org, query, lang)
    return render_template(
        "console/subjects/search.html", lang=lang, org=pages.org_view(org, lang), q=query,
        limit=subject_work.SEARCH_LIMIT, active="subjects", **found,
    )  # fmt: skip


@bp.get("/<slug>/subjects/<external_id>")
def subject(slug: str, external_id: str):
    """One person: their state per purpose now, their consent history newest first (with the
    receipt of each grant) and their rights requests."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, "subjects:read")
    try:
        data = subject_work.subject_page(org, external_id, utcnow(), lang)
    except NotFound:
        abort(404)
    return render_template(
        "console/subjects/subject.html", lang=lang, org=pages.org_view(org, lang), s=data, reasons=_reasons(),
        history_limit=subject_work.HISTORY_LIMIT, active="subjects",
    )  # fmt: skip
