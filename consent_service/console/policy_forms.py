"""The console's policy and purpose forms: what a stored draft or purpose shows in its fields,
what a posted form becomes for the service (the same data the API accepts), and the
service's per-field errors as messages beside the fields, in the page's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from consent_service.policies.models import PolicyVersion, PurposeVersion
from consent_service.policies.service import POLICY_SECTIONS

LANGS = ("zh", "en")
#: The draft's fields as the form names them: texts, sections, the rest.
POLICY_TEXTS = ("text_zh", "text_en")
SECTION_FIELDS = tuple(f"sections.{key}.{lang}" for key in POLICY_SECTIONS for lang in LANGS)
#: The purpose form's plain text fields (an empty optional one is "not given").
PURPOSE_TEXTS = (
    "name_zh",
    "name_en",
    "description_zh",
    "description_en",
    "processing_method_zh",
    "processing_method_en",
    "retention_note",
)
PURPOSE_CHOICES = ("function_kind", "legal_basis", "consent_requirement")
PURPOSE_NUMBERS = ("retention_days", "consent_validity_days")
RECIPIENT_KEYS = ("name", "contact", "purpose")
CROSS_BORDER_KEYS = ("name", "country", "contact", "rights_channel", "purpose")


# --- privacy policy drafts -----------------------------------------------------------------


def _local_input(value: datetime | None, timezone: str) -> str:
    """A stored UTC time as a ``datetime-local`` field shows it, in the organization's zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def _aware(text: str, timezone: str) -> str | None:
    """A ``datetime-local`` value, read in the organization's zone, as an aware ISO time; text
    that is no time is passed on as it is, for the schema to refuse beside the field."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.isoformat()


def policy_values(policy: PolicyVersion, timezone: str) -> dict[str, Any]:
    """The draft's fields as its form shows them."""
    values: dict[str, Any] = {name: getattr(policy, name) or "" for name in POLICY_TEXTS}
    for key in POLICY_SECTIONS:
        section = (policy.sections or {}).get(key) or {}
        for lang in LANGS:
            values[f"sections.{key}.{lang}"] = section.get(lang) or ""
    values["purposes"] = [v.purpose.code for v in policy.purpose_versions]
    values["change_summary"] = policy.change_summary or ""
    values["is_material_change"] = policy.is_material_change
    values["effective_at"] = _local_input(policy.effective_at, timezone)
    return values


def posted_policy_values(form: MultiDict) -> dict[str, Any]:
    """What was posted, as the form shows it again beside its errors."""
    values: dict[str, Any] = {name: form.get(name, "") for name in (*POLICY_TEXTS, *SECTION_FIELDS)}
    values["purposes"] = form.getlist("purposes")
    values["change_summary"] = form.get("change_summary", "")
    values["is_material_change"] = bool(form.get("is_material_change"))
    values["effective_at"] = form.get("effective_at", "")
    return values


def policy_data(values: dict[str, Any], timezone: str) -> dict[str, Any]:
    """The form's values as :func:`~consent_service.policies.service.update_policy` takes
    them (the API's draft fields)."""
    return {
        "text_zh": values["text_zh"],
        "text_en": values["text_en"],
        "sections": {
            key: {lang: values[f"sections.{key}.{lang}"] for lang in LANGS} for key in POLICY_SECTIONS
        },
        "purposes": list(values["purposes"]),
        "change_summary": values["change_summary"].strip() or None,
        "is_material_change": values["is_material_change"],
        "effective_at": _aware(values["effective_at"], timezone),
    }


def draft_data(policy: PolicyVersion | None, label: str) -> dict[str, Any]:
    """A new draft ``label`` with the content of ``policy`` (the published version), if any:
    its texts, sections and purposes; the change summary starts empty."""
    if policy is None:
        return {"label": label}
    return {
        "label": label,
        "text_zh": policy.text_zh,
        "text_en": policy.text_en,
        "sections": {k: dict(v) for k, v in (policy.sections or {}).items()},
        "purposes": [v.purpose.code for v in policy.purpose_versions],
        "is_material_change": False,
    }


def changed_policy_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The names of the form's fields whose values differ (never their text)."""
    return [name for name in before if before[name] != after.get(name)]


def _policy_hints() -> dict[str, str]:
    too_long = gettext("This text is too long.")
    hints = {
        "label": gettext(
            "Use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or a digit."
        ),
        "text_zh": too_long,
        "text_en": too_long,
        "purposes": gettext("Choose purposes of this organization."),
        "change_summary": gettext("Keep the summary under 5,000 characters."),
        "is_material_change": gettext("Tick the box or leave it empty."),
        "effective_at": gettext("Enter a date and time, such as 2026-07-01 09:00."),
    }
    hints.update({name: gettext("Keep each section under 20,000 characters.") for name in SECTION_FIELDS})
    return hints


def policy_errors(details: Any) -> dict[str, str]:
    """The draft schema's per-field errors as messages beside the form's fields."""
    hints = _policy_hints()
    errors: dict[str, str] = {}
    for name, problem in (details if isinstance(details, dict) else {"_schema": details}).items():
        if name == "sections" and isinstance(problem, dict):
            for key, inner in problem.items():
                # marshmallow nests a dict's errors under "key" and "value"
                inner = inner.get("value", inner) if isinstance(inner, dict) else inner
                langs = [lang for lang in LANGS if isinstance(inner, dict) and lang in inner] or ["zh"]
                for lang in langs:
                    field = f"sections.{key}.{lang}"
                    errors[field] = hints.get(field, gettext("This section cannot be saved."))
        elif name in hints:
            errors[name] = hints[name]
        else:
            errors["form"] = gettext("The draft could not be saved as it is.")
    return errors


# --- purposes ------------------------------------------------------------------------------


def _lines(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> str:
    """Recipients as the form shows them: one a line, their fields separated by ``|``."""
    return "\n".join(" | ".join(str(row.get(key) or "") for key in keys).rstrip(" |") for row in rows)


def _rows(text: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One recipient per non-empty line; fields left out are missing for the schema to name."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        rows.append({key: part for key, part in zip(keys, parts, strict=False) if part})
    return rows


def purpose_values(version: PurposeVersion | None) -> dict[str, Any]:
    """A purpose's current version as its form shows it (empty for a new purpose)."""
    if version is None:
        return {
            "code": "",
            "pi_categories": [],
            "is_publicly_disclosed": False,
            "recipients": "",
            "cross_border_recipients": "",
            "change_note": "",
            "function_kind": "extended",
            "legal_basis": "consent",
            "consent_requirement": "explicit",
            **{name: "" for name in (*PURPOSE_TEXTS, *PURPOSE_NUMBERS)},
        }
    values: dict[str, Any] = {name: getattr(version, name) or "" for name in PURPOSE_TEXTS}
    values.update({name: getattr(version, name) for name in PURPOSE_CHOICES})
    values.update(
        {
            name: "" if getattr(version, name) is None else str(getattr(version, name))
            for name in PURPOSE_NUMBERS
        }
    )
    values["code"] = version.purpose.code
    values["pi_categories"] = list(version.pi_categories)
    values["is_publicly_disclosed"] = version.is_publicly_disclosed
    values["recipients"] = _lines(version.recipients, RECIPIENT_KEYS)
    values["cross_border_recipients"] = _lines(version.cross_border_recipients, CROSS_BORDER_KEYS)
    values["change_note"] = ""
    return values


def posted_purpose_values(form: MultiDict) -> dict[str, Any]:
    """What was posted, as the form shows it again beside its errors."""
    values: dict[str, Any] = {
        name: form.get(name, "") for name in ("code", *PURPOSE_TEXTS, *PURPOSE_CHOICES, *PURPOSE_NUMBERS)
    }
    values["pi_categories"] = form.getlist("pi_categories")
    values["is_publicly_disclosed"] = bool(form.get("is_publicly_disclosed"))
    values["recipients"] = form.get("recipients", "")
    values["cross_border_recipients"] = form.get("cross_border_recipients", "")
    values["change_note"] = form.get("change_note", "")
    return values


def _number(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def purpose_data(values: dict[str, Any], *, with_code: bool) -> dict[str, Any]:
    """The form's values as :func:`~consent_service.policies.purposes.create_purpose` (with the
    code) or ``change_purpose`` (without) takes them: the API's purpose content."""
    data: dict[str, Any] = {
        name: values[name].strip() for name in ("name_zh", "name_en", "description_zh", "description_en")
    }
    for name in ("processing_method_zh", "processing_method_en", "retention_note"):
        data[name] = values[name].strip() or None
    data.update({name: values[name] for name in PURPOSE_CHOICES})
    data.update({name: _number(values[name]) for name in PURPOSE_NUMBERS})
    data["pi_categories"] = list(values["pi_categories"])
    data["is_publicly_disclosed"] = values["is_publicly_disclosed"]
    data["recipients"] = _rows(values["recipients"], RECIPIENT_KEYS)
    data["cross_border_recipients"] = _rows(values["cross_border_recipients"], CROSS_BORDER_KEYS)
    if with_code:
        data["code"] = values["code"].strip()
    return data


def _purpose_hints() -> dict[str, str]:
    name = gettext("Enter a name of 1 to 200 characters.")
    description = gettext("Enter a description of 1 to 5,000 characters.")
    method = gettext("Keep the method under 5,000 characters.")
    days = gettext("Enter a whole number of days from 1 to 36500, or leave it empty.")
    return {
        "code": gettext(
            "Use 1 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter."
        ),
        "name_zh": name,
        "name_en": name,
        "description_zh": description,
        "description_en": description,
        "processing_method_zh": method,
        "processing_method_en": method,
        "function_kind": gettext("Choose basic or extended."),
        "legal_basis": gettext("Choose one of the legal bases of PIPL 13."),
        "consent_requirement": gettext(
            "A purpose on consent needs a consent requirement; a purpose on another legal basis asks none."
        ),
        "pi_categories": gettext("Choose at least one category of personal information."),
        "recipients": gettext("Give each recipient as: name | contact | purpose, one a line."),
        "cross_border_recipients": gettext(
            "Give each overseas recipient as: name | country | contact | how people exercise their rights"
            " | purpose (optional), one a line."
        ),
        "is_publicly_disclosed": gettext("Tick the box or leave it empty."),
        "retention_days": days,
        "retention_note": gettext("Keep the note under 2,000 characters."),
        "consent_validity_days": days,
        "change_note": gettext("Keep the note under 2,000 characters."),
    }


def purpose_errors(details: Any) -> dict[str, str]:
    """The purpose schema's (and rules') per-field errors as messages beside the fields."""
    hints = _purpose_hints()
    errors: dict[str, str] = {}
    for name, problem in (details if isinstance(details, dict) else {"_schema": details}).items():
        text = (
            " ".join(problem)
            if isinstance(problem, list) and all(isinstance(p, str) for p in problem)
            else ""
        )
        if name == "consent_requirement" and text.startswith("must be separate or written"):
            errors[name] = gettext(
                "This purpose needs separate (or written) consent: it involves sensitive PI, a recipient,"
                " public disclosure or an overseas recipient (PIPL 23, 25, 29, 39)."
            )
        elif name == "pi_categories" and text.startswith("unknown"):
            errors[name] = gettext("Choose categories of the catalogue.")
        elif name == "_schema" and "leaves the purpose as it is" in text:
            errors["form"] = gettext("Nothing changed: the purpose stays as it is.")
        elif name in hints:
            errors[name] = hints[name]
        else:
            errors["form"] = gettext("The purpose could not be saved as it is.")
    return errors
