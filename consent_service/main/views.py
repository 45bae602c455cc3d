"""What is running, with links to each part; and a health check without the database."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import select

from consent_service.clock import utcnow
from consent_service.extensions import db
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.policies.service import current_policy

bp = Blueprint("main", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: answers without touching the database."""
    return jsonify(status="ok")


@bp.get("/")
def index():
    """The landing page: where each part lives, and links to the policies of the organizations
    listed in ``PUBLIC_ORGANIZATIONS`` (by default the demo organization in development, none
    elsewhere: a hosted service must not name its customers). Never any counts."""
    lang = page_language()
    listed = current_app.config["PUBLIC_ORGANIZATIONS"]
    organizations = []
    if listed:
        now = utcnow()
        query = select(Organization).where(Organization.slug.in_(listed))
        found = {org.slug: org for org in db.session.scalars(query)}
        for org in (found[slug] for slug in dict.fromkeys(listed) if slug in found):
            organizations.append(
                {
                    "slug": org.slug,
                    "name": org.name_zh if lang == "zh" else org.name_en,
                    "has_policy": current_policy(org, now) is not None,
                }
            )
    is_development = current_app.config["ENV"] == "development"
    return render_template(
        "index.html",
        lang=lang,
        lists_organizations=bool(listed),
        organizations=organizations,
        database=db.engine.dialect.name if is_development else None,
    )
