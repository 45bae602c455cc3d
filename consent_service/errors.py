"""Domain errors: plain exceptions that the web and CLI layers map to answers.

Each carries a stable ``code`` (used as the problem type and in CLI output), an HTTP
``status`` for the API, a human ``message`` and optional structured ``details``
(per-field errors, missing policy items...).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class of every error a service function raises on purpose."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def problem_members(self) -> dict[str, Any]:
        """What the API's problem document says beyond code and message."""
        return {} if self.details is None else {"details": self.details}

    def problem_headers(self) -> dict[str, str]:
        """Headers the API answers this error with."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Serialize for an API problem document or CLI output."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class InvalidInput(DomainError):
    """Input failed validation; ``details`` maps field names to messages."""

    code = "invalid_input"
    status = 422

    def problem_members(self) -> dict[str, Any]:
        return {"errors": self.details}


class NotFound(DomainError):
    """The thing does not exist in the caller's organization."""

    code = "not_found"
    status = 404


class Conflict(DomainError):
    """The request contradicts the current state."""

    code = "conflict"
    status = 409


class OrganizationExists(Conflict):
    code = "organization_exists"


class PurposeExists(Conflict):
    code = "purpose_exists"


class PolicyNotDraft(Conflict):
    """Published policy versions are immutable."""

    code = "policy_not_draft"


class PolicyIncomplete(DomainError):
    """Publishing was refused: ``details`` lists the missing PIPL 17 / GB/T 5.5 items."""

    code = "policy_incomplete"
    status = 422


class SeparateConsentRequired(Conflict):
    """A separate-consent purpose was granted in a bundle (PIPL 23, 25, 29, 39)."""

    code = "separate_consent_required"


class ConsentTypeInsufficient(Conflict):
    """The consent type is weaker than the purpose requires (PIPL 29, GB/T 5.4)."""

    code = "consent_type_insufficient"


class GuardianRequired(Conflict):
    """Only a guardian may consent for a child under 14 (PIPL 31, GB/T 5.4 d)."""

    code = "guardian_required"


class RepromptTooSoon(Conflict):
    """Asked again within 48 hours of a refusal (GB/T 35273 Annex C.4 b)."""

    code = "reprompt_too_soon"


class ConsentNotApplicable(Conflict):
    """Granting or refusing consent to a purpose that does not rest on consent (PIPL 13)."""

    code = "consent_not_applicable"


class IdempotencyKeyReused(DomainError):
    """The idempotency key was already used for a different act (a request that differs from
    the first one sent with the key: 422, as the IETF Idempotency-Key draft says)."""

    code = "idempotency_key_reused"
    status = 422


class StalePolicyVersion(Conflict):
    """The act names a policy version that is not published or does not cover the purpose."""

    code = "stale_policy_version"
