"""The dashboard: entered through a company's one-time link, then a signed session."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, session, url_for

from consent_service.clock import utcnow
from consent_service.consent.hotpath import decide_many
from consent_service.consent.models import Subject
from consent_service.dashboard.service import LinkInvalid, redeem_link
from consent_service.extensions import db
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.policies.purposes import list_purposes
from consent_service.policies.service import current_policy
from consent_service.unit_of_work import unit_of_work
from consent_service.web.errors import error_page

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/enter/<token>")
def enter(token: str):
    """Redeem a hand-off link and start the person's session."""
    lang = page_language()
    try:
        with unit_of_work():
            subject_id = redeem_link(token, utcnow()).id
    except LinkInvalid as exc:
        message = "此链接已失效，请回到应用重新打开。" if lang == "zh" else exc.message
        return error_page(410, message)
    session.clear()
    session["subject_id"] = subject_id
    return redirect(url_for("dashboard.home", lang=lang))


@bp.get("/")
def home():
    """The person's consents, purpose by purpose, and the policy in force."""
    subject_id = session.get("subject_id")
    subject = db.session.get(Subject, subject_id) if subject_id else None
    if subject is None:
        abort(401)
    org = db.session.get(Organization, subject.org_id)
    lang = page_language()
    now = utcnow()
    purposes = list_purposes(org)
    results = decide_many(org.id, org.timezone, [(subject.external_id, p.code) for p in purposes], now)
    rows = []
    for purpose, result in zip(purposes, results, strict=True):
        version = purpose.current
        rows.append(
            {
                "name": version.name_zh if lang == "zh" else version.name_en,
                "description": version.description_zh if lang == "zh" else version.description_en,
                "function_kind": version.function_kind,
                "is_sensitive": version.is_sensitive,
                "allowed": result.allowed,
                "reason": result.reason,
            }
        )
    policy = current_policy(org, now)
    return render_template(
        "dashboard.html",
        lang=lang,
        org={"slug": org.slug, "name": org.name_zh if lang == "zh" else org.name_en},
        purposes=rows,
        policy_label=policy.label if policy else None,
    )
