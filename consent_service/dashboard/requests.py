"""My requests: the person makes and follows their rights requests (PIPL 44-50, GB/T 35273 8).

What the dashboard's request pages show, as plain data for the templates (no ORM object and no
query reaches a template), what each type's form asks (GB/T 8.5 c: only what the type needs),
and the three writes: make a request as the signed-in person (their session is the proof of
who they are, ``identity_verified_by="dashboard"``), and withdraw one. Everything flushes; the
view's unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from consent_service.consent.models import Subject
from consent_service.errors import InvalidInput
from consent_service.extensions import db
from consent_service.mail.envelope import normalize_address
from consent_service.organizations.models import Organization
from consent_service.rights import actions, service
from consent_service.rights.fulfilment import PACKAGED
from consent_service.rights.grounds import REFUSAL_GROUNDS
from consent_service.rights.models import RightsRequest
from consent_service.rights.replies import contact
from consent_service.rights.timeline import Actor, timeline
from consent_service.rights.types import REQUEST_TYPES
from consent_service.rights.workflow import is_open

#: The person acting for themselves, signed in (the timeline names the kind only).
PERSON = Actor("subject")
#: The longest free text a request carries (as ``service.create_request`` allows).
DETAILS_LIMIT = 20000

#: What each right does, in a sentence, in the order the chooser lists them.
TYPE_TEXT = {
    "access": (
        _l("See my information"),
        _l(
            "Find out what information about you is held, where it came from, why it is used and "
            "who receives it."
        ),
    ),
    "copy": (_l("Get a copy"), _l("Receive a copy of your information as a download.")),
    "portability": (
        _l("Transfer to another company"),
        _l("Receive your information in a machine-readable form to take to another company."),
    ),
    "correction": (
        _l("Correct or complete"),
        _l("Have information about you that is wrong or incomplete corrected."),
    ),
    "deletion": (
        _l("Delete my information"),
        _l("Have your information deleted where it is no longer needed or was processed without grounds."),
    ),
    "restriction": (_l("Restrict processing"), _l("Limit or refuse how your information is processed.")),
    "cancellation": (
        _l("Cancel my account"),
        _l("Close your account; your information is then deleted or anonymized."),
    ),
    "withdrawal": (
        _l("Withdraw all consents"),
        _l("Withdraw every consent you have given; what was done before stays lawful."),
    ),
    "explanation": (
        _l("Explain processing"),
        _l("Ask how your information is processed, or why an automated decision was made."),
    ),
    "complaint": (
        _l("Make a complaint"),
        _l("Complain about how your information is handled; the complaint is tracked and answered."),
    ),
}

STATUS_TEXT = {
    "received": _l("Received"),
    "verifying_identity": _l("Waiting for your identity to be confirmed"),
    "in_progress": _l("In progress"),
    "awaiting_requester": _l("Waiting for your answer"),
    "awaiting_systems": _l("Being carried out in the company's systems"),
    "completed": _l("Completed"),
    "refused": _l("Refused"),
    "withdrawn_by_requester": _l("Withdrawn by you"),
    "expired_unverified": _l("Ended: identity not confirmed"),
}

STEP_TEXT = {
    "receive": _l("Request received"),
    "send_code": _l("Confirmation code sent"),
    "verify": _l("Identity confirmed"),
    "pause": _l("Waiting for your answer (the deadline is paused)"),
    "resume": _l("Resumed"),
    "await_systems": _l("Sent to the company's systems"),
    "systems_done": _l("All systems answered"),
    "task_answered": _l("A system answered"),
    "no_systems": _l("Handled by the company's staff"),
    "withdraw_consents": _l("Consents withdrawn"),
    "correct_here": _l("Information corrected"),
    "erase_here": _l("Information deleted"),
    "package": _l("Download prepared"),
    "package_download": _l("Download opened"),
    "extend": _l("Deadline extended"),
    "assign": _l("Assigned to staff"),
    "complete": _l("Completed"),
    "refuse": _l("Refused"),
    "withdraw": _l("Request withdrawn"),
    "expire_unverified": _l("Ended: identity not confirmed"),
}
OTHER_STEP = _l("Updated")

ACTOR_TEXT = {
    "subject": _l("you"),
    "guardian": _l("your guardian"),
    "relative": _l("a close relative"),
    "client": _l("the company's system"),
    "officer": _l("the company's staff"),
    "system": _l("automatically"),
    "link": _l("the download link"),
}
OTHER_ACTOR = _l("the company")

PROVISIONAL = _l(
    "This due date is provisional: the official holiday calendar for its year is not published "
    "yet. It has been counted so that it is never later than the real date, and it is counted "
    "again when the calendar is published."
)


@dataclass(frozen=True)
class Field:
    """A control of a type's form: its name, label, whether it must be filled, its kind."""

    name: str
    label: Any
    required: bool = False
    kind: str = "textarea"
    hint: Any = None


_DETAILS = Field("details", _l("Anything we should know (optional)"))
#: What each type's form asks, and nothing more (GB/T 8.5 c).
FORM_FIELDS: dict[str, tuple[Field, ...]] = {
    "access": (),
    "copy": (),
    "cancellation": (),
    "withdrawal": (),
    "correction": (
        Field("email", _l("Your correct email address"), kind="email"),
        Field("phone", _l("Your correct phone number"), kind="tel"),
        Field(
            "details",
            _l("What else is wrong or missing"),
            hint=_l("Fill in at least one: the email address, the phone number or this description."),
        ),
    ),
    "explanation": (Field("details", _l("Your question"), required=True),),
    "complaint": (Field("details", _l("Your complaint"), required=True),),
    "deletion": (_DETAILS,),
    "restriction": (_DETAILS,),
    "portability": (_DETAILS,),
}
REQUIRED = _l("Please fill this in.")
TOO_LONG = _l("This is too long: at most %(limit)d characters.", limit=DETAILS_LIMIT)
NOT_EMAIL = _l("This is not an email address, such as name@example.com.")
NOT_PHONE = _l("A phone number has 3 to 64 characters.")
NOTHING_TO_CORRECT = _l("Say what should be corrected: an email address, a phone number or a description.")
INVALID = _l("This could not be accepted; please check it.")
UNKNOWN_TYPE = _l("Choose one of the requests listed.")


def _language(lang: str) -> str:
    return "en" if lang == "en" else "zh-CN"


def _day(value: date) -> str:
    return format_date(value, format="long", locale=get_locale())


def _time(value: datetime, timezone: str) -> str:
    return format_datetime(value, format="medium", tzinfo=ZoneInfo(timezone), locale=get_locale())


def type_info(code: str) -> dict[str, Any]:
    """A right as the pages name it: its name, what it does, its clauses."""
    name, sentence = TYPE_TEXT[code]
    return {
        "code": code,
        "name": str(name),
        "sentence": str(sentence),
        "clauses": " · ".join(REQUEST_TYPES[code].clauses),
    }


def type_choices() -> list[dict[str, Any]]:
    """Every right the person may exercise, for the chooser."""
    return [type_info(code) for code in TYPE_TEXT]


def form_fields(
    request_type: str, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The controls of ``request_type``'s form, each with what was typed, its message and the
    ids of the texts that describe it (``aria-describedby``)."""
    values, errors = values or {}, errors or {}
    controls = []
    for f in FORM_FIELDS[request_type]:
        hint_id = f"field-{f.name}-hint" if f.hint else None
        error_id = f"field-{f.name}-error" if errors.get(f.name) else None
        controls.append(
            {
                "name": f.name,
                "id": f"field-{f.name}",
                "label": str(f.label),
                "required": f.required,
                "kind": f.kind,
                "hint": str(f.hint) if f.hint else None,
                "hint_id": hint_id,
                "value": values.get(f.name, ""),
                "error": errors.get(f.name),
                "error_id": error_id,
                "described_by": " ".join(i for i in (hint_id, error_id) if i) or None,
            }
        )
    return controls


# --- reading ----------------------------------------------------------------------------------


def _requests_of(org: Organization, subject: Subject) -> list[RightsRequest]:
    return list(
        db.session.scalars(
            select(RightsRequest)
            .where(RightsRequest.org_id == org.id, RightsRequest.subject_id == subject.id)
            .order_by(RightsRequest.received_at.desc(), RightsRequest.id.desc())
        )
    )


def find_own_request(org: Organization, subject: Subject, public_id: str) -> RightsRequest | None:
    """The person's own request ``public_id``; ``None`` for anyone else's."""
    return db.session.scalars(
        select(RightsRequest).where(
            RightsRequest.org_id == org.id,
            RightsRequest.subject_id == subject.id,
            RightsRequest.public_id == public_id,
        )
    ).first()


def _summary(org: Organization, request: RightsRequest) -> dict[str, Any]:
    return {
        "id": request.public_id,
        "type": type_info(request.type),
        "status": request.status,
        "status_text": str(STATUS_TEXT.get(request.status, request.status)),
        "is_open": is_open(request.status),
        "received": _time(request.received_at, org.timezone),
        "due": _day(request.due_day) if request.due_day else None,
        "due_iso": request.due_day.isoformat() if request.due_day else None,
        "provisional": str(PROVISIONAL) if request.provisional and request.due_day else None,
    }


def list_view(org: Organization, subject: Subject) -> list[dict[str, Any]]:
    """The person's requests, newest first."""
    return [_summary(org, r) for r in _requests_of(org, subject)]


def detail_view(org: Organization, subject: Subject, request: RightsRequest, lang: str) -> dict[str, Any]:
    """One request as the person sees it: the deadline, the steps in words (the kind of actor
    only: no officer's name, no internal note), a refusal's ground, explanation and complaint
    channel (PIPL 50), and whether a download link was mailed (the link itself never is here)."""
    events = timeline(request)
    data = _summary(org, request)
    data["paused_days"] = request.paused_days
    data["timeline"] = [
        {
            "what": str(STEP_TEXT.get(e.action, OTHER_STEP)),
            "who": str(ACTOR_TEXT.get(e.actor_kind, OTHER_ACTOR)),
            "at": _time(e.at, org.timezone),
            "at_iso": e.at.isoformat(),
        }
        for e in events
    ]
    data["refusal"] = None
    if request.status == "refused" and request.refusal_ground:
        zh, en = REFUSAL_GROUNDS.get(request.refusal_ground, (request.refusal_ground,) * 2)
        data["refusal"] = {
            "ground": en if lang == "en" else zh,
            "explanation": request.refusal_explanation,
            "complaint_channel": request.complaint_channel,
        }
    packaged = request.status == "completed" and request.type in PACKAGED
    data["link_mailed"] = (
        packaged and any(e.action == "package" for e in events) and (contact(request, subject) is not None)
    )
    data["link_not_mailed"] = packaged and not data["link_mailed"]
    return data


# --- writing ----------------------------------------------------------------------------------


def read_form(request_type: str, form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """What the form of ``request_type`` says, checked: the values as the person typed them (to
    show again), and a message per field that is wrong. Fields the type does not ask for are
    ignored."""
    values = {f.name: (form.get(f.name) or "").strip() for f in FORM_FIELDS[request_type]}
    errors: dict[str, str] = {}
    for f in FORM_FIELDS[request_type]:
        value = values[f.name]
        if f.required and not value:
            errors[f.name] = str(REQUIRED)
        elif len(value) > DETAILS_LIMIT:
            errors[f.name] = str(TOO_LONG)
    if request_type == "correction":
        if values["email"] and normalize_address(values["email"]) is None:
            errors["email"] = str(NOT_EMAIL)
        if values["phone"] and not 3 <= len(values["phone"]) <= 64:
            errors["phone"] = str(NOT_PHONE)
        if not any(values.values()):
            errors["details"] = str(NOTHING_TO_CORRECT)
    return values, errors


def make_request(
    org: Organization, subject: Subject, request_type: str, values: dict[str, Any], lang: str, now: datetime
) -> RightsRequest:
    """Make the request as the signed-in person: their session proves who they are, so the
    clock starts now (GB/T 8.7 a). :class:`InvalidInput` names a field the service refused."""
    corrections = {k: values[k] for k in ("email", "phone") if values.get(k)} or None
    return service.create_request(
        org,
        subject.external_id,
        request_type,
        now,
        requester=service.Requester(kind="subject"),
        channel="dashboard",
        identity_verified_by="dashboard",
        details=values.get("details") or None,
        corrections=corrections,
        language=_language(lang),
    )


def field_errors(exc: InvalidInput) -> dict[str, str]:
    """The service's refusal as messages beside the form's fields."""
    names = {
        "corrections.email": "email",
        "corrections.phone": "phone",
        "corrections": "details",
        "details": "details",
    }
    details = exc.details if isinstance(exc.details, dict) else {}
    return {names[k]: str(INVALID) for k in details if k in names} or {"details": str(INVALID)}


def withdraw(org: Organization, request: RightsRequest, now: datetime) -> RightsRequest:
    """The person no longer asks (:class:`TransitionNotAllowed` once the request is closed)."""
    return actions.withdraw(org, request.public_id, now, PERSON)
