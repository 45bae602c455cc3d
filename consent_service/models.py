"""Every model, imported in one place so that the metadata (and Alembic) sees them all."""

from consent_service.consent.models import ConsentEvent, ConsentState, LedgerCheckpoint, Subject
from consent_service.policies.models import (
    Organization,
    PICategory,
    PolicyVersion,
    Purpose,
    PurposeVersion,
)
from consent_service.receipts.models import ConsentReceipt, SigningKey

__all__ = [
    "ConsentEvent",
    "ConsentReceipt",
    "ConsentState",
    "LedgerCheckpoint",
    "Organization",
    "PICategory",
    "PolicyVersion",
    "Purpose",
    "PurposeVersion",
    "SigningKey",
    "Subject",
]
