"""What is running, with links to each part; and a health check without the database."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import func, select

from consent_service.consent.models import ConsentEvent, Subject
from consent_service.extensions import db
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, Purpose

bp = Blueprint("main", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: answers without touching the database."""
    return jsonify(status="ok")


@bp.get("/")
def index():
    """The landing page: the organizations served and where each part lives."""
    lang = page_language()
    organizations = []
    for org in db.session.scalars(select(Organization).order_by(Organization.slug)):
        organizations.append(
            {
                "slug": org.slug,
                "name": org.name_zh if lang == "zh" else org.name_en,
                "purposes": db.session.scalar(select(func.count()).where(Purpose.org_id == org.id)),
                "subjects": db.session.scalar(select(func.count()).where(Subject.org_id == org.id)),
                "events": db.session.scalar(select(func.count()).where(ConsentEvent.org_id == org.id)),
                "policies": db.session.scalar(
                    select(func.count()).where(
                        PolicyVersion.org_id == org.id, PolicyVersion.status == "published"
                    )
                ),
            }
        )
    return render_template(
        "index.html",
        lang=lang,
        organizations=organizations,
        package=__name__.split(".")[0],
        database=db.engine.dialect.name,
        base_url=current_app.config["BASE_URL"],
    )
