"""Public pages of published privacy policies: every version stays readable (PIPL 17)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from markdown_it import MarkdownIt

from consent_service.clock import utcnow
from consent_service.errors import NotFound
from consent_service.i18n import local_datetime, page_language
from consent_service.organizations import service as organizations
from consent_service.policies import service
from consent_service.policies.models import PolicyVersion

bp = Blueprint("policies", __name__)

# Raw HTML in policy text is escaped, never rendered.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def _policy_page(policy: PolicyVersion, lang: str) -> dict:
    """Plain data for the template (templates get no ORM objects)."""
    org = policy.organization
    pick = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    sections = []
    for key, zh, en in service.POLICY_ITEMS[4:]:
        body = (policy.sections or {}).get(key, {}).get(lang, "")
        sections.append({"key": key, "title": pick(zh, en), "html": _markdown.render(body)})
    codes = sorted({code for v in policy.purpose_versions for code in v.pi_categories})
    names = (
        {c.code: pick(c.name_zh, c.name_en) for c in organizations.categories_by_code(codes).values()}
        if codes
        else {}
    )
    purposes = []
    for v in policy.purpose_versions:
        purposes.append(
            {
                "code": v.purpose.code,
                "version": v.version,
                "name": pick(v.name_zh, v.name_en),
                "description": pick(v.description_zh, v.description_en),
                "method": pick(v.processing_method_zh, v.processing_method_en),
                "function_kind": v.function_kind,
                "legal_basis": v.legal_basis,
                "consent_requirement": v.consent_requirement,
                "pi_categories": [names.get(code, code) for code in v.pi_categories],
                "is_sensitive": v.is_sensitive,
                "recipients": v.recipients,
                "cross_border": v.cross_border_recipients,
                "is_publicly_disclosed": v.is_publicly_disclosed,
                "retention_days": v.retention_days,
                "retention_note": v.retention_note,
            }
        )
    return {
        "org": {
            "slug": org.slug,
            "name": pick(org.name_zh, org.name_en),
            "email": org.contact_email,
            "phone": org.contact_phone,
            "address": org.address,
            "pipo_name": org.pipo_name,
            "pipo_contact": org.pipo_contact,
        },
        "label": policy.label,
        "published_at": policy.published_at,
        "published": local_datetime(policy.published_at, org.timezone, lang) if policy.published_at else None,
        "effective_at": policy.effective_at,
        "sha256": policy.content_sha256,
        "change_summary": policy.change_summary,
        "body_html": _markdown.render(pick(policy.text_zh, policy.text_en)),
        "sections": sections,
        "purposes": purposes,
    }


def _org_or_404(slug: str):
    try:
        return organizations.get_organization(slug)
    except NotFound:
        abort(404)


@bp.get("/o/<slug>/policy")
def current(slug: str):
    """The policy in force now."""
    org = _org_or_404(slug)
    policy = service.current_policy(org, utcnow())
    if policy is None:
        abort(404)
    lang = page_language()
    return render_template("policy.html", lang=lang, policy=_policy_page(policy, lang), is_current=True)


@bp.get("/o/<slug>/policy/<label>")
def version(slug: str, label: str):
    """One published policy version; drafts are not public."""
    org = _org_or_404(slug)
    try:
        policy = service.get_policy(org, label)
    except NotFound:
        abort(404)
    if not policy.is_published:
        abort(404)
    lang = page_language()
    now_policy = service.current_policy(org, utcnow())
    return render_template(
        "policy.html",
        lang=lang,
        policy=_policy_page(policy, lang),
        is_current=now_policy is not None and now_policy.id == policy.id,
    )


@bp.get("/o/<slug>/policies")
def history(slug: str):
    """Every published version, newest first."""
    org = _org_or_404(slug)
    lang = page_language()
    versions = [
        {
            "label": p.label,
            "published_at": p.published_at,
            "published": local_datetime(p.published_at, org.timezone, lang),
            "change_summary": p.change_summary,
            "is_material_change": p.is_material_change,
        }
        for p in service.list_policies(org, published_only=True)
    ]
    name = org.name_zh if lang == "zh" else org.name_en
    return render_template(
        "policies.html", lang=lang, org={"slug": org.slug, "name": name}, versions=versions
    )
