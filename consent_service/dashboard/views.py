"""The dashboard: entered through a company's one-time link, then a signed session.

The session is Flask's signed cookie (``SESSION_COOKIE_*`` in ``config.py``: HttpOnly,
SameSite=Lax, Secure outside development and testing). It is started afresh at sign-in, ends
after ``DASHBOARD_IDLE_MINUTES`` without a visit (measured with the application's clock) and
on sign-out. No answer of the dashboard may be kept by a cache.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, session, url_for
from flask_babel import gettext

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
from consent_service.web.security import no_store

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

#: Session keys: the person signed in, and when they last opened a page (ISO 8601, UTC).
SUBJECT_KEY = "subject_id"
SEEN_KEY = "seen_at"


@bp.after_request
def _never_cached(response):
    """A signed-in page, a sign-in redirect: nothing of the dashboard is stored by a cache."""
    return no_store(response)


def _sign_in(subject_id: int, now: datetime) -> None:
    """Start a new session for the person: whatever the old one held (another person, a CSRF
    token) is dropped, so a session planted before sign-in is never the signed-in one."""
    session.clear()
    session.permanent = True  # the cookie expires too (PERMANENT_SESSION_LIFETIME)
    session[SUBJECT_KEY] = subject_id
    session[SEEN_KEY] = now.isoformat()


def _signed_in_subject_id(now: datetime) -> int | None:
    """The signed-in person's id, the visit noted; ``None`` if nobody is signed in or the
    session was idle longer than ``DASHBOARD_IDLE_MINUTES`` (then it is ended)."""
    subject_id = session.get(SUBJECT_KEY)
    if subject_id is None:
        return None
    idle = timedelta(minutes=current_app.config["DASHBOARD_IDLE_MINUTES"])
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, str) or now - datetime.fromisoformat(seen) > idle:
        session.clear()
        return None
    session[SEEN_KEY] = now.isoformat()
    return subject_id


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
    _sign_in(subject_id, now)
    return redirect(url_for("dashboard.home", lang=lang))


@bp.get("/")
def home():
    """The person's consents, purpose by purpose, and the policy in force."""
    now = utcnow()
    subject_id = _signed_in_subject_id(now)
    subject = db.session.get(Subject, subject_id) if subject_id else None
    if subject is None or subject.erased_at is not None:
        session.clear()  # an erased person's session ends with their information (PIPL 47)
        abort(401)
    org = db.session.get(Organization, subject.org_id)
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
    )


@bp.post("/sign-out")
def sign_out():
    """End the session (the form carries a CSRF token; CSRFProtect refuses a post without
    one), then show that it ended (303: the page is fetched with GET)."""
    session.clear()
    return redirect(url_for("dashboard.signed_out", lang=page_language()), 303)


@bp.get("/signed-out")
def signed_out():
    """Say that the session ended and how to open the dashboard again."""
    return render_template("signed_out.html", lang=page_language())
