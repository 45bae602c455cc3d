"""A correction of what this service holds of a person (PIPL 46, GB/T 35273 8.2): which fields
it may change, checked, and kept encrypted with the request until it is carried out."""

from __future__ import annotations

import json
from typing import Any

from consent_service import secrets_box
from consent_service.errors import InvalidInput
from consent_service.mail.envelope import normalize_address
from consent_service.rights.models import RightsRequest

#: What of the person this service itself holds and a correction may change.
CORRECTABLE = ("email", "phone")
_LABEL = b"consent-rights-corrections"


def check_corrections(corrections: Any) -> dict[str, str | None]:
    """The fields a correction changes here, checked: ``email`` and ``phone`` (``None`` erases
    one)."""
    if not isinstance(corrections, dict) or not corrections:
        raise InvalidInput("invalid correction", {"corrections": ["name at least one of: email, phone"]})
    errors: dict[str, list[str]] = {}
    for name in set(corrections) - set(CORRECTABLE):
        errors[f"corrections.{name}"] = ["this service holds only email and phone of a person"]
    email = corrections.get("email")
    if email is not None and (not isinstance(email, str) or normalize_address(email) is None):
        errors["corrections.email"] = ["is not an email address"]
    phone = corrections.get("phone")
    if phone is not None and (not isinstance(phone, str) or not 3 <= len(phone.strip()) <= 64):
        errors["corrections.phone"] = ["must be text of 3-64 characters"]
    if errors:
        raise InvalidInput("invalid correction", errors)
    return {
        name: (normalize_address(value) if name == "email" and value else value.strip() if value else None)
        for name, value in corrections.items()
    }


def corrections_of(request: RightsRequest) -> dict[str, str | None]:
    """The correction a request asks for, decrypted (``{}`` for none)."""
    if not request.corrections_encrypted:
        return {}
    return json.loads(secrets_box.decrypt(request.corrections_encrypted, _LABEL))


def seal_corrections(corrections: dict[str, str | None]) -> str:
    return secrets_box.encrypt(json.dumps(corrections, sort_keys=True), _LABEL)
