"""What the console's policy pages show, as plain data: the policy versions and purposes, a
version with its difference from the published one (field by field, long texts line by line)
and its GB/T 35273 5.5 checklist, and what publishing would do. Reads only; the pages render."""

from __future__ import annotations

import difflib
import re
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from consent_service.extensions import db
from consent_service.i18n import local_datetime
from consent_service.organizations.models import Organization, PICategory
from consent_service.policies import purposes as purpose_service
from consent_service.policies import service
from consent_service.policies.models import (
    CONSENT_REQUIREMENTS,
    FUNCTION_KINDS,
    LEGAL_BASES,
    LEGAL_BASIS_CLAUSES,
    PolicyVersion,
    Purpose,
)

#: Lines of unchanged text kept around each change of a line diff.
CONTEXT_LINES = 2


def _when(org: Organization, value, lang: str) -> str | None:
    return local_datetime(value, org.timezone, lang) if value is not None else None


def _name(version, lang: str) -> str:
    return version.name_zh if lang == "zh" else version.name_en


def published(org: Organization) -> PolicyVersion | None:
    """The latest published version (whatever its effective date), or ``None``."""
    versions = service.list_policies(org, published_only=True)
    return max(versions, key=lambda p: p.seq or 0) if versions else None


def next_label(org: Organization) -> str:
    """A label no version has yet: ``v<n>`` after the number of versions."""
    taken = {p.label for p in service.list_policies(org)}
    n = len(taken) + 1
    while f"v{n}" in taken:
        n += 1
    return f"v{n}"


def purposes_list(org: Organization, lang: str) -> list[dict[str, Any]]:
    """Each purpose with its current version."""
    rows = []
    for purpose in purpose_service.list_purposes(org):
        current = purpose.current
        rows.append(
            {
                "code": purpose.code,
                "name": _name(current, lang),
                "version": purpose.current_version,
                "material_version": purpose.material_version,
                "legal_basis": current.legal_basis,
                "clause": LEGAL_BASIS_CLAUSES[current.legal_basis],
                "changed": _when(org, current.created_at, lang),
            }
        )
    return rows


def policies_page(org: Organization, lang: str) -> dict[str, Any]:
    """The policy versions, newest first, and the purposes with their current versions."""
    current = published(org)
    versions = [
        {
            "label": p.label,
            "status": p.status,
            "published": _when(org, p.published_at, lang),
            "effective": _when(org, p.effective_at, lang),
            "is_material_change": p.is_material_change,
            "is_current": current is not None and p.id == current.id,
        }
        for p in service.list_policies(org)
    ]
    return {
        "versions": versions,
        "purposes": purposes_list(org, lang),
        "published_label": current.label if current else None,
        "suggested_label": next_label(org),
    }


# --- the difference from the published version ---------------------------------------------


def line_diff(old: str, new: str) -> list[dict[str, str]]:
    """The lines that differ between two texts, with a few unchanged ones around each change:
    ``kind`` is ``added``, ``removed``, ``same`` or ``gap`` (lines left out)."""
    before, after = old.splitlines(), new.splitlines()
    lines: list[dict[str, str]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for n, group in enumerate(matcher.get_grouped_opcodes(CONTEXT_LINES)):
        if n:
            lines.append({"kind": "gap", "marker": "…", "text": ""})
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend({"kind": "same", "marker": " ", "text": t} for t in before[i1:i2])
                continue
            lines.extend({"kind": "removed", "marker": "−", "text": t} for t in before[i1:i2])
            lines.extend({"kind": "added", "marker": "+", "text": t} for t in after[j1:j2])
    return lines


def _texts(policy: PolicyVersion | None) -> dict[str, str]:
    """The draft's long texts by form field name (empty where there is no policy)."""
    texts = {"text_zh": "", "text_en": ""}
    for key in service.POLICY_SECTIONS:
        for lang in ("zh", "en"):
            texts[f"sections.{key}.{lang}"] = ""
    texts["change_summary"] = ""
    if policy is None:
        return texts
    texts["text_zh"], texts["text_en"] = policy.text_zh or "", policy.text_en or ""
    for key in service.POLICY_SECTIONS:
        section = (policy.sections or {}).get(key) or {}
        for lang in ("zh", "en"):
            texts[f"sections.{key}.{lang}"] = str(section.get(lang) or "")
    texts["change_summary"] = policy.change_summary or ""
    return texts


def _item_title(key: str, lang: str) -> str:
    return next(zh if lang == "zh" else en for k, zh, en in service.POLICY_ITEMS if k == key)


def field_label(name: str, lang: str) -> str:
    """What a draft's field is called on the page."""
    labels = {
        "text_zh": gettext("Policy text (Chinese)"),
        "text_en": gettext("Policy text (English)"),
        "change_summary": gettext("What changed"),
        "purposes": gettext("Purposes covered"),
        "is_material_change": gettext("Material change"),
        "effective_at": gettext("Effective from"),
    }
    if name.startswith("sections."):
        _, key, text_lang = name.split(".")
        title = _item_title(key, lang)
        if text_lang == "zh":
            return gettext("%(section)s (Chinese)", section=title)
        return gettext("%(section)s (English)", section=title)
    return labels[name]


def _covered(policy: PolicyVersion | None) -> dict[str, int]:
    return {v.purpose.code: v.version for v in policy.purpose_versions} if policy is not None else {}


def _purpose_changes(base: PolicyVersion | None, policy: PolicyVersion) -> list[dict[str, Any]]:
    """Each purpose whose covered version differs from the base's: from, to, and whether a
    version in between changed purpose, method, PI or recipients (PIPL 14)."""
    before, after = _covered(base), _covered(policy)
    changes = []
    by_code = {p.code: p for p in purpose_service.list_purposes(policy.organization)}
    for code in sorted(set(before) | set(after)):
        old, new = before.get(code), after.get(code)
        if old == new:
            continue
        purpose = by_code.get(code)
        low, high = sorted((old or 0, new or 0))
        material = purpose is not None and any(
            v.is_material for v in purpose.versions if low < v.version <= high
        )
        changes.append({"code": code, "from": old, "to": new, "is_material": material})
    return changes


def policy_diff(org: Organization, base: PolicyVersion | None, policy: PolicyVersion, lang: str) -> dict:
    """``policy`` against ``base`` (the published version), field by field: the long texts as
    line diffs, the purposes with their versions, the flag and the effective date."""
    old, new = _texts(base), _texts(policy)
    texts = [
        {"name": name, "label": field_label(name, lang), "lines": line_diff(old[name], new[name])}
        for name in new
        if old[name] != new[name]
    ]
    yes, no = gettext("yes"), gettext("no")
    fields = []
    if base is None or base.is_material_change != policy.is_material_change:
        fields.append(
            {
                "label": field_label("is_material_change", lang),
                "before": None if base is None else (yes if base.is_material_change else no),
                "after": yes if policy.is_material_change else no,
            }
        )
    if base is None or base.effective_at != policy.effective_at:
        fields.append(
            {
                "label": field_label("effective_at", lang),
                "before": None if base is None else _when(org, base.effective_at, lang),
                "after": _when(org, policy.effective_at, lang) or gettext("when published"),
            }
        )
    return {"texts": texts, "fields": fields, "purposes": _purpose_changes(base, policy)}


# --- the GB/T 35273 5.5 checklist ----------------------------------------------------------

_SECTION = re.compile(r"^section '(\w+)' in (zh|en)$")
_PURPOSE = re.compile(r"^purpose '([^']+)'(?::)? (.*)$")
_COVERED_AT = re.compile(r"^is covered at version (\d+), current is (\d+)$")


def missing_text(text: str, lang: str) -> str:
    """One thing :func:`~consent_service.policies.service.missing_items` names, said in the
    page's language (as it is, if it is not one of the known kinds)."""
    fixed = {
        "the organization's name in Chinese and English": gettext(
            "The organization's name in Chinese and English"
        ),
        "the organization's contact (email, phone or address)": gettext(
            "The organization's contact (email, phone or address)"
        ),
        "the PI protection officer's contact (PIPL 52)": gettext(
            "The PI protection officer's contact (PIPL 52)"
        ),
        "the policy text in both Chinese and English": gettext("The policy text in both Chinese and English"),
        "the policy covers no purpose": gettext("The policy covers no purpose"),
    }
    if text in fixed:
        return fixed[text]
    if match := _SECTION.match(text):
        key, text_lang = match.groups()
        title = _item_title(key, lang)
        if text_lang == "zh":
            return gettext("The section “%(section)s” in Chinese", section=title)
        return gettext("The section “%(section)s” in English", section=title)
    if match := _PURPOSE.match(text):
        code, rest = match.groups()
        if covered := _COVERED_AT.match(rest):
            return gettext(
                "Purpose %(code)s is covered at version %(old)s; its current version is %(new)s",
                code=code,
                old=covered.group(1),
                new=covered.group(2),
            )
        kinds = {
            "is not covered": gettext("Purpose %(code)s is not covered", code=code),
            "names no PI categories": gettext("Purpose %(code)s names no PI categories", code=code),
            "collection and processing method": gettext(
                "Purpose %(code)s: its collection and processing method", code=code
            ),
            "retention period": gettext("Purpose %(code)s: its retention period", code=code),
            "an overseas recipient is incomplete": gettext(
                "Purpose %(code)s: an overseas recipient is incomplete", code=code
            ),
            "a recipient lacks name, contact or purpose": gettext(
                "Purpose %(code)s: a recipient lacks a name, contact or purpose", code=code
            ),
        }
        if rest in kinds:
            return kinds[rest]
    return text


def checklist(missing: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The eight items of GB/T 35273 5.5 (PIPL 17), each met or missing with what lacks."""
    lacking = {m["item"]: m["missing"] for m in missing}
    return [
        {
            "item": key,
            "title": zh if lang == "zh" else en,
            "clause": service.ITEM_CLAUSES[key],
            "is_met": key not in lacking,
            "missing": [missing_text(text, lang) for text in lacking.get(key, [])],
        }
        for key, zh, en in service.POLICY_ITEMS
    ]


def policy_page(org: Organization, policy: PolicyVersion, lang: str) -> dict[str, Any]:
    """A version: its facts, its difference from the version published before it (for a draft,
    the one in force) and, for a draft, its checklist."""
    base = published(org) if not policy.is_published else _published_before(org, policy)
    return {
        "label": policy.label,
        "status": policy.status,
        "is_draft": not policy.is_published,
        "published": _when(org, policy.published_at, lang),
        "effective": _when(org, policy.effective_at, lang),
        "is_material_change": policy.is_material_change,
        "change_summary": policy.change_summary,
        "purposes": [
            {"code": v.purpose.code, "version": v.version, "name": _name(v, lang)}
            for v in policy.purpose_versions
        ],
        "base_label": base.label if base is not None else None,
        "diff": policy_diff(org, base, policy, lang),
        "checklist": checklist(service.missing_items(policy), lang) if not policy.is_published else [],
    }


def _published_before(org: Organization, policy: PolicyVersion) -> PolicyVersion | None:
    earlier = [p for p in service.list_policies(org, published_only=True) if (p.seq or 0) < (policy.seq or 0)]
    return max(earlier, key=lambda p: p.seq or 0) if earlier else None


def publish_page(org: Organization, preview: service.PublishPreview, lang: str) -> dict[str, Any]:
    """What publishing a draft would do: the items that refuse it, the purposes changed since
    the published version, and the consents a material change sends to re-consent."""
    policy = preview.policy
    base = published(org)
    changes = _purpose_changes(base, policy)
    return {
        "label": policy.label,
        "base_label": base.label if base is not None else None,
        "is_material_change": policy.is_material_change,
        "missing": [item for item in checklist(preview.missing, lang) if not item["is_met"]],
        "purpose_changes": changes,
        "material_purposes": [c["code"] for c in changes if c["is_material"]],
        "reconsent_purposes": preview.reconsent_purposes,
        "reconsent_required": preview.reconsent_required,
    }


# --- the purpose forms' choices ------------------------------------------------------------


def purpose_choices(lang: str) -> dict[str, Any]:
    """What the purpose form offers: the PI catalogue (sensitive marked) and the codes of the
    function kinds, legal bases and consent requirements."""
    categories = db.session.scalars(select(PICategory).order_by(PICategory.code))
    return {
        "categories": [
            {"code": c.code, "name": c.name_zh if lang == "zh" else c.name_en, "is_sensitive": c.is_sensitive}
            for c in categories
        ],
        "function_kinds": FUNCTION_KINDS,
        "legal_bases": [(basis, LEGAL_BASIS_CLAUSES[basis]) for basis in LEGAL_BASES],
        "consent_requirements": CONSENT_REQUIREMENTS,
    }


def purpose_heading(purpose: Purpose, lang: str) -> dict[str, Any]:
    """A purpose's code, name and versions, for the heading of its change form."""
    return {
        "code": purpose.code,
        "name": _name(purpose.current, lang),
        "version": purpose.current_version,
        "material_version": purpose.material_version,
    }
