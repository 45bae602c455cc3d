"""Every model, imported in one place so that the metadata (and Alembic) sees them all."""

from consent_service.audit.models import AuditEntry, AuditHead, LedgerCheckpoint
from consent_service.consent.models import ConsentEvent, ConsentState, Subject, SubjectErasure
from consent_service.dashboard.models import DashboardLink
from consent_service.exports.models import ExportJob
from consent_service.mail.models import MailMessage
from consent_service.oauth.models import OAuthClient, OAuthToken
from consent_service.organizations.models import Organization, PICategory
from consent_service.policies.models import PolicyVersion, Purpose, PurposeVersion
from consent_service.receipts.models import ConsentReceipt, SigningKey
from consent_service.rights.calendar_data import CalendarDay, CalendarNotice
from consent_service.rights.models import (
    DataSystem,
    IdentityCode,
    RetentionEnding,
    RightsNotice,
    RightsPackage,
    RightsPause,
    RightsRequest,
    RightsRequestEvent,
    RightsTask,
)
from consent_service.staff.models import StaffMember
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AuditEntry",
    "AuditHead",
    "CalendarDay",
    "CalendarNotice",
    "DataSystem",
    "IdentityCode",
    "RetentionEnding",
    "RightsNotice",
    "RightsPackage",
    "RightsPause",
    "RightsRequest",
    "RightsRequestEvent",
    "RightsTask",
    "ConsentEvent",
    "ConsentReceipt",
    "ConsentState",
    "SubjectErasure",
    "DashboardLink",
    "ExportJob",
    "MailMessage",
    "OAuthClient",
    "OAuthToken",
    "WebhookDelivery",
    "WebhookEndpoint",
    "LedgerCheckpoint",
    "Organization",
    "PICategory",
    "PolicyVersion",
    "Purpose",
    "PurposeVersion",
    "SigningKey",
    "StaffMember",
    "Subject",
]
