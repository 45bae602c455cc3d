"""The console's purposes and privacy policy pages (PIPL 14, 17; GB/T 35273 5.5), for those
who hold ``purposes:manage``: the versions and purposes, a draft's form, its difference from
the published version and its checklist, publishing after the re-consent it causes is stated,
and the purposes' forms. :mod:`consent_service.policies` decides, as it does for the API;
:mod:`~consent_service.console.policy_work` gathers what the pages show.

Every post runs its service call inside :func:`~consent_service.console.acting.staff_action`:
one unit of work with its audit entry, which keeps labels, codes, statuses, versions and the
names of changed fields, never their text.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console import pages
from consent_service.console import policy_forms as forms
from consent_service.console import policy_work as work
from consent_service.console import session as console_session
from consent_service.console.acting import staff_action
from consent_service.errors import InvalidInput, NotFound, PolicyIncomplete, PolicyNotDraft, PurposeExists
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.policies import purposes, service
from consent_service.policies.models import PolicyVersion, Purpose

bp = pages.blueprint("console_policies", __name__)
PERMISSION = "purposes:manage"
#: The longest reason for a purpose change (as the API's ``change_note``).
NOTE_MAX = 2000


def _page(template: str, org: Organization, lang: str, status: int = 200, **values: Any):
    org_view = {"slug": org.slug, "name": org.name_zh if lang == "zh" else org.name_en}
    page = render_template(
        f"console/policies/{template}", lang=lang, org=org_view, active="policies", **values
    )
    return page, status


def _policy_or_404(org: Organization, label: str) -> PolicyVersion:
    try:
        return service.get_policy(org, label)
    except NotFound:
        abort(404)


def _purpose_or_404(org: Organization, code: str) -> Purpose:
    try:
        return purposes.get_purpose(org, code)
    except NotFound:
        abort(404)


def _published_conflict(org: Organization, lang: str, label: str):
    message = gettext("Version %(label)s is published: a published version does not change.", label=label)
    return _page("conflict.html", org, lang, 409, message=message)


def _notice(done: str | None) -> str | None:
    """The notice a redirect after a post asks for (``?done=``)."""
    args = request.args
    if done == "created":
        return gettext("Draft %(label)s is created from the published version.", label=args.get("label", ""))
    if done == "saved":
        return gettext("The draft is saved.")
    if done == "published":
        count = args.get("reconsent", "0")
        return gettext(
            "Version %(label)s is published. Consents that now need re-consent: %(num)s.",
            label=args.get("label", ""),
            num=count if count.isdigit() else "0",
        )
    if done == "purpose_created":
        return gettext("Purpose %(code)s is created at version 1.", code=args.get("code", ""))
    if done in ("purpose_changed", "purpose_changed_material"):
        version = args.get("version", "")
        if done == "purpose_changed_material":
            return gettext(
                "Purpose %(code)s is now at version %(version)s. The change is material: consents to"
                " earlier versions need re-consent (PIPL 14).",
                code=args.get("code", ""),
                version=version,
            )
        return gettext(
            "Purpose %(code)s is now at version %(version)s. The change is not material: consents"
            " given stay in force.",
            code=args.get("code", ""),
            version=version,
        )
    return None


# --- policy versions -----------------------------------------------------------------------


def _index_page(org: Organization, lang: str, status: int = 200, errors=None, label: str | None = None):
    data = work.policies_page(org, lang)
    return _page(
        "index.html", org, lang, status, **data, errors=errors or {},
        label=data["suggested_label"] if label is None else label, notice=_notice(request.args.get("done")),
    )  # fmt: skip


@bp.get("/<slug>/policies")
def index(slug: str):
    """The policy versions (draft or published, with their dates) and the purposes."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, PERMISSION)
    return _index_page(org, lang)


@bp.post("/<slug>/policies")
def create_draft(slug: str):
    """A new draft, with the content of the published version (PIPL 17)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, PERMISSION)
    label = request.form.get("label", "").strip()
    try:
        with staff_action(org, member, "policy.create", f"policy_version:{label}") as change:
            base = work.published(org)
            change.before = {"label": label, "status": None}
            policy = service.create_policy(org, forms.draft_data(base, label), utcnow())
            change.after = {"label": policy.label, "status": policy.status}
            change.extra = {"from_label": base.label if base else None}
    except InvalidInput as exc:
        return _index_page(org, lang, 400, forms.policy_errors(exc.details), label)
    except PolicyNotDraft:
        errors = {"label": gettext("A version with this label exists: choose another.")}
        return _index_page(org, lang, 409, errors, label)
    return redirect(url_for(".edit_form", slug=slug, label=label, lang=lang, done="created"), 303)


@bp.get("/<slug>/policies/<label>")
def policy(slug: str, label: str):
    """A version: its difference from the published one and, for a draft, the GB/T 5.5
    checklist and the way to publish."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, PERMISSION)
    data = work.policy_page(org, _policy_or_404(org, label), lang)
    return _page("policy.html", org, lang, p=data, notice=_notice(request.args.get("done")))


def _edit_page(org, lang, label: str, values: dict, status: int = 200, errors=None):
    return _page(
        "edit.html", org, lang, status, label=label, values=values, errors=errors or {},
        purposes=work.purposes_list(org, lang), sections=service.POLICY_SECTIONS,
        items={key: zh if lang == "zh" else en for key, zh, en in service.POLICY_ITEMS},
        notice=_notice(request.args.get("done")),
    )  # fmt: skip


@bp.get("/<slug>/policies/<label>/edit")
def edit_form(slug: str, label: str):
    """The draft's fields: texts and sections in Chinese and English, purposes, summary, dates."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, PERMISSION)
    policy = _policy_or_404(org, label)
    if policy.is_published:
        return _published_conflict(org, lang, label)
    return _edit_page(org, lang, label, forms.policy_values(policy, org.timezone))


@bp.post("/<slug>/policies/<label>/edit")
def edit(slug: str, label: str):
    """Save the draft (``update_policy``); bad fields are said beside them and nothing is saved."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, PERMISSION)
    policy = _policy_or_404(org, label)
    values = forms.posted_policy_values(request.form)
    try:
        with staff_action(org, member, "policy.update", f"policy_version:{label}") as change:
            before = forms.policy_values(policy, org.timezone)
            change.before = {"label": label, "status": policy.status}
            saved = service.update_policy(org, label, forms.policy_data(values, org.timezone))
            after = forms.policy_values(saved, org.timezone)
            change.after = {"label": saved.label, "status": saved.status}
            change.extra = {"changed": forms.changed_policy_fields(before, after)}
    except InvalidInput as exc:
        return _edit_page(org, lang, label, values, 400, forms.policy_errors(exc.details))
    except NotFound:
        errors = {"purposes": gettext("Choose purposes of this organization.")}
        return _edit_page(org, lang, label, values, 400, errors)
    except PolicyNotDraft:
        return _published_conflict(org, lang, label)
    return redirect(url_for(".policy", slug=slug, label=label, lang=lang, done="saved"), 303)


def _publish_page(org: Organization, lang: str, label: str, status: int = 200, refused: bool = False):
    try:
        preview = service.publish_preview(org, label)
    except PolicyNotDraft:
        return _published_conflict(org, lang, label)
    return _page("publish.html", org, lang, status, p=work.publish_page(org, preview, lang), refused=refused)


@bp.get("/<slug>/policies/<label>/publish")
def publish_form(slug: str, label: str):
    """Before publishing: what is missing (publishing is refused then) and, for a material
    change, which purposes it touches and how many consents will need re-consent."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, PERMISSION)
    _policy_or_404(org, label)
    return _publish_page(org, lang, label)


@bp.post("/<slug>/policies/<label>/publish")
def publish(slug: str, label: str):
    """Publish the draft (``publish_policy``): refused (422) while GB/T 5.5 items are missing;
    then back to the versions with the number of consents that now need re-consent."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, PERMISSION)
    policy = _policy_or_404(org, label)
    try:
        with staff_action(org, member, "policy.publish", f"policy_version:{label}") as change:
            change.before = {"label": label, "status": policy.status, "seq": policy.seq}
            result = service.publish_policy(org, label, utcnow())
            published = result.policy
            change.after = {
                "label": published.label,
                "status": published.status,
                "seq": published.seq,
                "published_at": published.published_at.isoformat(),
                "reconsent_required": result.reconsent_required,
            }
            change.extra = {"is_material_change": published.is_material_change}
    except PolicyIncomplete:
        return _publish_page(org, lang, label, 422, refused=True)
    except PolicyNotDraft:
        return _published_conflict(org, lang, label)
    return redirect(
        url_for(".index", slug=slug, lang=lang, done="published", label=label,
                reconsent=result.reconsent_required),
        303,
    )  # fmt: skip


# --- purposes ------------------------------------------------------------------------------


def _purpose_page(org, lang, values: dict, heading=None, status: int = 200, errors=None):
    return _page(
        "purpose.html", org, lang, status, values=values, heading=heading, errors=errors or {},
        **work.purpose_choices(lang),
    )  # fmt: skip


@bp.get("/<slug>/purposes/new")
def new_purpose_form(slug: str):
    """The form for a new purpose (处理目的): what it is for, its basis, its PI, its recipients."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, PERMISSION)
    return _purpose_page(org, lang, forms.purpose_values(None))


@bp.post("/<slug>/purposes")
def create_purpose(slug: str):
    """Create a purpose with its first version (``create_purpose``)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, PERMISSION)
    values = forms.posted_purpose_values(request.form)
    code = values["code"].strip()
    try:
        with staff_action(org, member, "purpose.create", f"purpose:{code}") as change:
            change.before = {"code": code, "version": None}
            purpose = purposes.create_purpose(org, forms.purpose_data(values, with_code=True), utcnow())
            change.after = {"code": purpose.code, "version": purpose.current_version}
    except InvalidInput as exc:
        return _purpose_page(org, lang, values, None, 400, forms.purpose_errors(exc.details))
    except PurposeExists:
        errors = {"code": gettext("A purpose with this code exists: choose another.")}
        return _purpose_page(org, lang, values, None, 409, errors)
    return redirect(url_for(".index", slug=slug, lang=lang, done="purpose_created", code=code), 303)


@bp.get("/<slug>/purposes/<code>/change")
def purpose_form(slug: str, code: str):
    """The form that changes a purpose: a new version, material if purpose, method, PI or
    recipients change (PIPL 14)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, PERMISSION)
    purpose = _purpose_or_404(org, code)
    heading = work.purpose_heading(purpose, lang)
    return _purpose_page(org, lang, forms.purpose_values(purpose.current), heading)


@bp.post("/<slug>/purposes/<code>/change")
def change_purpose(slug: str, code: str):
    """Change a purpose (``change_purpose``); the notice says whether the change is material."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, PERMISSION)
    purpose = _purpose_or_404(org, code)
    heading = work.purpose_heading(purpose, lang)
    values = forms.posted_purpose_values(request.form)
    values["code"] = code
    note = values["change_note"].strip() or None
    if note is not None and len(note) > NOTE_MAX:
        errors = {"change_note": gettext("Keep the note under 2,000 characters.")}
        return _purpose_page(org, lang, values, heading, 400, errors)
    try:
        with staff_action(org, member, "purpose.change", f"purpose:{code}") as change:
            current = purpose.current
            change.before = {"code": code, "version": purpose.current_version,
                             "material_version": purpose.material_version}  # fmt: skip
            version = purposes.change_purpose(
                org, code, forms.purpose_data(values, with_code=False), utcnow(), note=note
            )
            change.after = {"code": code, "version": version.version,
                            "material_version": version.purpose.material_version}  # fmt: skip
            change.extra = {
                "changed": [name for name in purposes.CONTENT_FIELDS
                            if getattr(current, name) != getattr(version, name)],
                "is_material": version.is_material,
                "note_length": len(note or ""),
            }  # fmt: skip
    except InvalidInput as exc:
        return _purpose_page(org, lang, values, heading, 400, forms.purpose_errors(exc.details))
    done = "purpose_changed_material" if version.is_material else "purpose_changed"
    target = url_for(".index", slug=slug, lang=lang, done=done, code=code, version=version.version)
    return redirect(target, 303)
