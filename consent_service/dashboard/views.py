"""The dashboard: entered through a company's one-time link, then a signed session
(:mod:`.session`). No answer of the dashboard may be kept by a cache."""

from __future__ import annotations

import base64
import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.dashboard import consents
from consent_service.dashboard.service import LinkInvalid, redeem_link
from consent_service.dashboard.session import current_person, sign_in
from consent_service.dashboard.session import sign_out as sign_out_session
from consent_service.errors import DomainError, InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.i18n import page_language
from consent_service.policies.service import current_policy
from consent_service.records import downloads
from consent_service.unit_of_work import unit_of_work
from consent_service.web.errors import error_page
from consent_service.web.security import no_store

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.after_request
def _never_cached(response):
    """A signed-in page, a sign-in redirect: nothing of the dashboard is stored by a cache."""
    return no_store(response)


@bp.get("/enter/<token>")
def enter(token: str):
    """Redeem a hand-off link and start the person's session."""
    lang = page_language()
    now = utcnow()
    try:
        with unit_of_work():
            subject_id = redeem_link(token, now).id
    except LinkInvalid:
        return error_page(410, gettext("This link no longer works; open it again from the app."))
    sign_in(subject_id, now)
    return redirect(url_for("dashboard.home", lang=lang))


def _frame(org, lang: str, now) -> dict:
    """What every dashboard page shows around its content: the organization and the policy."""
    policy = current_policy(org, now)
    return {
        "lang": lang,
        "org": {
            "slug": org.slug,
            "name": org.name_zh if lang == "zh" else org.name_en,
            "timezone": org.timezone,
        },
        "policy_label": policy.label if policy else None,
        "policy_url": url_for("policies.current", slug=org.slug, lang=lang) if policy else None,
    }


def _consents_page(
    org, subject, lang: str, now, *, errors=None, failed: str | None = None, status: int = 200
):
    cards = consents.cards(org, subject, lang, now)
    # A refusal is shown beside its purpose's form; one with no form (a basic function) on top.
    general = None
    if failed and errors and not any(c.code == failed and c.actions for c in cards):
        general = next(iter(errors.values()))[0]
    page = render_template(
        "dashboard.html",
        **_frame(org, lang, now),
        cards=cards,
        general_error=general,
        guardian=consents.needs_guardian(org, subject, now),
        guardian_name=subject.guardian_name,
        guardian_relationship=subject.guardian_relationship,
        errors=errors or {},
        failed=failed,
    )
    return page, status


@bp.get("/")
def home():
    """The person's consents: basic functions, extended ones with a switch each, and those
    needing separate consent on cards of their own; the policy in force one click away."""
    now = utcnow()
    org, subject = current_person(now)
    return _consents_page(org, subject, page_language(), now)


@bp.post("/consents/<code>")
def act(code: str):
    """Give or withdraw consent for one purpose (one action each, PIPL 15); a refused act
    shows the page again with the reason beside the purpose (400), and nothing is recorded."""
    now = utcnow()
    lang = page_language()
    org, subject = current_person(now)
    form = request.form
    action = form.get("action", "")
    try:
        with unit_of_work():
            consents.act(
                org,
                subject,
                code,
                action,
                now,
                lang=lang,
                seen_sha256=form.get("notice"),
                guardian_name=form.get("guardian_name", "").strip() or None,
                guardian_relationship=form.get("guardian_relationship", "").strip() or None,
                user_agent=request.headers.get("User-Agent"),
            )
    except NotFound:
        return error_page(404)
    except DomainError as exc:
        db.session.rollback()
        errors = exc.details if isinstance(exc.details, dict) and isinstance(exc, InvalidInput) else {}
        if not errors:
            errors = {"action": [_act_refused(exc)]}
        return _consents_page(org, subject, lang, now, errors=errors, failed=code, status=400)
    flash(gettext("Your consent was given.") if action == "give" else gettext("Your consent was withdrawn."))
    return redirect(url_for("dashboard.home", lang=lang, _anchor=f"p-{code}"), 303)


def _act_refused(exc: DomainError) -> str:
    """A refusal of the ledger in words the person understands."""
    if exc.code == "guardian_required":
        return gettext("A guardian gives consent for a child under 14.")
    return gettext("This could not be recorded: %(reason)s", reason=exc.message)


@bp.get("/history")
def history():
    """Every act of the person, newest first, with each receipt to download and check."""
    now = utcnow()
    org, subject = current_person(now)
    lang = page_language()
    return render_template(
        "dashboard/history.html", **_frame(org, lang, now), rows=consents.history(org, subject, lang)
    )


@bp.get("/receipts/<receipt_id>.<kind>")
def receipt(receipt_id: str, kind: str):
    """One of the person's receipts: the signed token (``.jws``), its claims (``.json``) or
    its signed record (``.pdf``, PIPL 14), to keep and to check against the published keys."""
    now = utcnow()
    org, subject = current_person(now)
    if kind not in ("json", "jws", "pdf"):
        abort(404)
    try:
        row = consents.receipt_of(subject, receipt_id)
    except NotFound:
        return error_page(404)
    name = f"receipt-{row.receipt_id}.{kind}"
    if kind == "pdf":
        return downloads.signed_download(lambda: downloads.receipt_pdf(org, row, now), name)
    if kind == "jws":
        body, mimetype = row.jws, "application/jose"
    else:
        payload = row.jws.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        body, mimetype = json.dumps(claims, ensure_ascii=False, indent=2, sort_keys=True), "application/json"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/record.pdf")
def consent_record():
    """The person's own consent record: every act of their history, signed (PIPL 14-16, 44)."""
    now = utcnow()
    org, subject = current_person(now)
    return downloads.signed_download(lambda: downloads.subject_pdf(org, subject, now), "consent-record.pdf")


@bp.get("/policies.pdf")
def policy_archive():
    """Every version of the organization's privacy policy the person may have agreed to, with
    its dates and what changed, signed (PIPL 17)."""
    now = utcnow()
    org, _subject = current_person(now)
    return downloads.signed_download(lambda: downloads.archive_pdf(org, now), "privacy-policy-archive.pdf")


@bp.post("/sign-out")
def sign_out():
    """End the session (the form carries a CSRF token; CSRFProtect refuses a post without
    one), then show that it ended (303: the page is fetched with GET)."""
    sign_out_session()
    return redirect(url_for("dashboard.signed_out", lang=page_language()), 303)


@bp.get("/signed-out")
def signed_out():
    """Say that the session ended and how to open the dashboard again."""
    return render_template("signed_out.html", lang=page_language())
