"""The dashboard: entered through a company's one-time link, then a signed session
(:mod:`.session`). No answer of the dashboard may be kept by a cache."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.consent.hotpath import decide_many
from consent_service.dashboard.service import LinkInvalid, redeem_link
from consent_service.dashboard.session import current_person, sign_in
from consent_service.dashboard.session import sign_out as sign_out_session
from consent_service.i18n import page_language
from consent_service.policies.purposes import list_purposes
from consent_service.policies.service import current_policy
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


@bp.get("/")
def home():
    """The person's consents, purpose by purpose, and the policy in force."""
    now = utcnow()
    org, subject = current_person(now)
    lang = page_language()
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
        policy_url=url_for("policies.current", slug=org.slug, lang=lang) if policy else None,
    )


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
