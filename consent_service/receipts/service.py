"""Consent receipts: Kantara Consent Receipt v1.1 with PIPL fields, signed as a compact JWS.

A person can verify a receipt alone: the signature against the public keys published at
``/.well-known/jwks.json`` (which keep retired keys), and the content against the schema.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from importlib import resources
from typing import Any, Protocol

import jsonschema
from flask import current_app
from sqlalchemy import select

from consent_service.canonical import Template
from consent_service.database import insert_rows, stored_time
from consent_service.errors import DomainError, NotFound
from consent_service.extensions import db
from consent_service.ids import uuid7
from consent_service.memo import remembered
from consent_service.organizations.models import Organization
from consent_service.organizations.service import categories_by_code
from consent_service.policies.models import LEGAL_BASIS_CLAUSES, PolicyVersion, PurposeVersion
from consent_service.policies.urls import policy_url
from consent_service.receipts import keys
from consent_service.receipts.models import ConsentReceipt

KANTARA_VERSION = "KI-CR-v1.1.0"
RECEIPT_TYPE = "consent-receipt+jwt"
JURISDICTIONS = {"PIPL": "CN", "GDPR": "EU"}
#: Kantara's consentType vocabulary; the PIPL type goes in the ``pipl`` extension.
KANTARA_CONSENT_TYPES = {
    "implied": "IMPLIED",
    "explicit": "EXPLICIT",
    "separate": "EXPLICIT",
    "written": "EXPLICIT",
}


class ReceiptEvent(Protocol):
    """What a receipt says of its event: the ledger's plain row (``EventRow``) or a stored
    event. Receipts sit below the ledger and never import it."""

    id: int
    uuid: str
    hash: str
    purpose_version: int
    method: str
    consent_type: str | None
    evidence: dict[str, Any]
    actor_name: str | None
    actor_relationship: str | None
    occurred_at: datetime
    recorded_at: datetime
    expires_at: datetime | None

    @property
    def is_guardian_act(self) -> bool: ...


class InvalidReceipt(DomainError):
    """A receipt is malformed or does not match the Kantara schema."""

    code = "invalid_receipt"


class ReceiptErased(DomainError):
    """The receipt's token was erased with the person's information (PIPL 47): only its id,
    key id and the SHA-256 of the token remain."""

    code = "receipt_erased"
    status = 410

    def __init__(self, message: str, jws_sha256: str | None) -> None:
        super().__init__(message, {"jws_sha256": jws_sha256})


def kantara_schema() -> dict[str, Any]:
    """The Kantara Consent Receipt v1.1 JSON schema shipped with the package."""
    text = resources.files("consent_service").joinpath("data/kantara-consent-receipt-v1_1-schema.json")
    return json.loads(text.read_text("utf-8"))


#: The claims that differ from one receipt to the next, as paths into the document; the rest
#: is shared by every receipt of one purpose version, policy, consent type and key.
EVENT_CLAIMS = (
    ("consentTimestamp",),
    ("collectionMethod",),
    ("consentReceiptID",),
    ("language",),
    ("piiPrincipalId",),
    ("sub",),  # JWT claims (RFC 7519)
    ("iat",),
    ("jti",),
    ("pipl", "guardian"),
    ("pipl", "noticeSha256"),
    ("pipl", "eventId"),
    ("pipl", "eventHash"),
    ("pipl", "expiresAt"),
)


def _event_values(subject_external_id: str, event: ReceiptEvent, receipt_id: str) -> list[Any]:
    """The values of :data:`EVENT_CLAIMS` for one event."""
    evidence = event.evidence or {}
    guardian = None
    if event.is_guardian_act:
        guardian = {"name": event.actor_name, "relationship": event.actor_relationship}
    return [
        int(event.occurred_at.timestamp()),
        event.method,
        receipt_id,
        evidence.get("locale") or "zh-CN",
        subject_external_id,
        subject_external_id,
        int(event.recorded_at.timestamp()),
        receipt_id,
        guardian,
        evidence.get("notice_sha256"),
        event.uuid,
        event.hash,
        event.expires_at.isoformat() if event.expires_at else None,
    ]


def _shared(
    org: Organization,
    version: PurposeVersion,
    policy: PolicyVersion | None,
    consent_type: str,
    public_jwk: dict[str, Any],
) -> tuple[dict[str, Any], Template]:
    """The shared claims of receipts for this purpose version, policy, consent type and key,
    and their template; remembered for a batch."""
    key = ("receipt_claims", version.id, policy.id if policy else None, consent_type, public_jwk["kid"])

    def build() -> tuple[dict[str, Any], Template]:
        document = _fixed_claims(org, version, policy, consent_type, public_jwk)
        return document, Template(document, EVENT_CLAIMS)

    return remembered(key, build)


def build_receipt(
    org: Organization,
    subject_external_id: str,
    event: ReceiptEvent,
    version: PurposeVersion,
    policy: PolicyVersion | None,
    receipt_id: str,
    public_jwk: dict[str, Any],
) -> dict[str, Any]:
    """The receipt's claims: the Kantara fields plus a ``pipl`` extension."""
    document, _ = _shared(org, version, policy, event.consent_type, public_jwk)
    claims = document | {"pipl": dict(document["pipl"])}
    for path, value in zip(EVENT_CLAIMS, _event_values(subject_external_id, event, receipt_id), strict=True):
        (claims if len(path) == 1 else claims[path[0]])[path[-1]] = value
    return claims


def receipt_json(
    org: Organization,
    subject_external_id: str,
    event: ReceiptEvent,
    version: PurposeVersion,
    policy: PolicyVersion | None,
    receipt_id: str,
    public_jwk: dict[str, Any],
) -> bytes:
    """``canonical_json(build_receipt(...))``, written from the shared template."""
    _, template = _shared(org, version, policy, event.consent_type, public_jwk)
    return template.render(_event_values(subject_external_id, event, receipt_id))


def _fixed_claims(
    org: Organization,
    version: PurposeVersion,
    policy: PolicyVersion | None,
    consent_type: str,
    public_jwk: dict[str, Any],
) -> dict[str, Any]:
    """The claims every receipt of one purpose version, policy and consent type shares (a
    batch signs a thousand receipts with the same ones)."""
    categories = categories_by_code(version.pi_categories).values()
    kantara_cats = sorted({k for c in categories for k in c.kantara_categories})
    recipient_names = [r["name"] for r in version.recipients] + [
        r["name"] for r in version.cross_border_recipients
    ]
    purpose_entry: dict[str, Any] = {
        "purpose": version.description_en,
        "consentType": KANTARA_CONSENT_TYPES[consent_type],
        "purposeCategory": [f"{version.function_kind} business function"],
        "piiCategory": kantara_cats,
        "primaryPurpose": version.function_kind == "basic",
        "termination": (
            f"until withdrawn, at most {version.consent_validity_days} days"
            if version.consent_validity_days
            else "until withdrawn (PIPL 15)"
        ),
        "thirdPartyDisclosure": bool(recipient_names),
    }
    if recipient_names:
        purpose_entry["thirdPartyName"] = ", ".join(recipient_names)
    base = current_app.config["BASE_URL"].rstrip("/")
    fixed = {
        "version": KANTARA_VERSION,
        "jurisdiction": JURISDICTIONS.get(org.default_regime, org.default_regime),
        "publicKey": json.dumps(public_jwk, sort_keys=True),
        "piiControllers": [
            {
                "piiController": f"{org.name_zh} ({org.name_en})",
                "onBehalf": False,
                "contact": org.pipo_name or org.pipo_contact or org.name_en,
                "address": {"streetAddress": org.address or ""},
                "email": org.contact_email or "",
                "phone": org.contact_phone or "",
                "piiControllerUrl": policy_url(org, None),
            }
        ],
        "policyUrl": policy_url(org, policy),
        "services": [{"service": f"{version.name_zh} / {version.name_en}", "purposes": [purpose_entry]}],
        "sensitive": version.is_sensitive,
        "spiCat": sorted({c.pipl28_kind or c.name_en for c in categories if c.is_sensitive}),
        "iss": base,
    }
    pipl = {
        "consentType": consent_type,
        "isSeparate": consent_type in ("separate", "written"),
        "isWritten": consent_type == "written",
        "purposeCode": version.purpose.code,
        "purposeVersion": version.version,
        "legalBasis": version.legal_basis,
        "legalBasisClause": LEGAL_BASIS_CLAUSES[version.legal_basis],
        "piCategories": version.pi_categories,
        "recipients": version.recipients,
        "crossBorder": version.cross_border_recipients,
        "isPubliclyDisclosed": version.is_publicly_disclosed,
        "retentionDays": version.retention_days,
        "policyVersion": policy.label if policy else None,
        "policySha256": policy.content_sha256 if policy else None,
    }
    return fixed | {"pipl": pipl}


#: The columns :func:`store_receipts` writes, in the order of :func:`sign_receipt`'s records.
RECEIPT_COLUMNS = ("receipt_id", "event_id", "org_id", "kid", "jws", "issued_at")


def sign_receipt(
    org: Organization,
    subject_external_id: str,
    event: ReceiptEvent,
    version: PurposeVersion,
    policy: PolicyVersion | None,
    now: datetime,
) -> tuple[tuple, str]:
    """Sign the receipt of a grant; return its record for :func:`store_receipts` and the JWS."""
    key = keys.active_key(now)
    receipt_id = uuid7()
    body = receipt_json(org, subject_external_id, event, version, policy, receipt_id, key.public_jwk)
    kid, token = keys.sign_json(key, body, typ=RECEIPT_TYPE)
    return (receipt_id, event.id, org.id, kid, token), token


def store_receipts(records: list[tuple], now: datetime) -> None:
    """Store receipts signed at ``now`` (records from :func:`sign_receipt`) in the caller's
    transaction."""
    issued_at = stored_time(db.session.get_bind().dialect.name, now)
    rows = [(*record, issued_at) for record in records]
    insert_rows(db.session, ConsentReceipt.__tablename__, RECEIPT_COLUMNS, rows)


def receipts_for(events: list[ReceiptEvent]) -> dict[int, str]:
    """The receipts already issued for ``events`` and not erased, by event id."""
    rows = db.session.scalars(
        select(ConsentReceipt).where(ConsentReceipt.event_id.in_([e.id for e in events]))
    )
    return {r.event_id: r.jws for r in rows if r.jws is not None}


def get_receipt(org: Organization, receipt_id: str) -> ConsentReceipt:
    """The receipt ``receipt_id`` of ``org``: :class:`NotFound` for none (or another
    organization's), :class:`ReceiptErased` (410) for one whose token was erased."""
    receipt = db.session.scalars(
        select(ConsentReceipt).where(ConsentReceipt.org_id == org.id, ConsentReceipt.receipt_id == receipt_id)
    ).first()
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id!r}")
    if receipt.jws is None:
        raise ReceiptErased(
            f"receipt {receipt_id} was erased with the person's information (PIPL 47); "
            "jws_sha256 is the SHA-256 of the token issued",
            receipt.jws_sha256,
        )
    return receipt


def token_sha256(token: str) -> str:
    """The SHA-256 (hex) of a receipt's compact JWS, as ``jws_sha256`` keeps it."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def erase_receipts(event_ids: list[int]) -> list[tuple[str, str]]:
    """Erase the tokens of the receipts of these events (they name the person, PIPL 47),
    keeping each receipt's id, key id and the SHA-256 of its token; return ``(receipt id,
    SHA-256)`` of each, by receipt id. Flushes; an erased receipt is left as it is."""
    if not event_ids:
        return []
    rows = db.session.scalars(
        select(ConsentReceipt)
        .where(ConsentReceipt.event_id.in_(event_ids), ConsentReceipt.jws.is_not(None))
        .order_by(ConsentReceipt.receipt_id)
    ).all()
    erased = []
    for row in rows:
        row.jws_sha256 = token_sha256(row.jws)
        row.jws = None
        erased.append((row.receipt_id, row.jws_sha256))
    db.session.flush()
    return erased


def verify_receipt(token: str, key_set: dict[str, Any]) -> dict[str, Any]:
    """Verify a receipt's signature and Kantara schema; return its claims.

    Needs no service: only the token and the JWK Set (e.g. a saved ``jwks.json``).
    """
    header, claims = keys.verify(token, key_set)
    if header.get("typ") != RECEIPT_TYPE:
        raise InvalidReceipt(f"not a consent receipt (typ {header.get('typ')!r})")
    errors = sorted(jsonschema.Draft4Validator(kantara_schema()).iter_errors(claims), key=str)
    if errors:
        raise InvalidReceipt("receipt does not match the Kantara v1.1 schema: " + errors[0].message)
    return claims


def claims_mismatch(
    claims: dict[str, Any],
    subject_external_id: str,
    event: ReceiptEvent,
    receipt_id: str,
    purpose_code: str,
    policy_label: str | None,
) -> str | None:
    """The first claim of a stored receipt that does not say what its event says, or ``None``.

    Compared: every claim taken from the event (:data:`EVENT_CLAIMS`: event id and hash, subject,
    timestamps, method, guardian, notice, expiry, receipt id) and the purpose code and version,
    consent type and policy version. An audit calls this for every receipt, after its signature.
    """
    pipl = claims.get("pipl")
    if not isinstance(pipl, dict):
        return "pipl"
    expected = _event_values(subject_external_id, event, receipt_id)
    for path, value in zip(EVENT_CLAIMS, expected, strict=True):
        actual = (claims if len(path) == 1 else pipl).get(path[-1], _ABSENT)
        if actual != value and not (path == ("pipl", "expiresAt") and _instant(actual) == _instant(value)):
            return ".".join(path)
    try:
        kantara_type = claims["services"][0]["purposes"][0]["consentType"]
    except (KeyError, IndexError, TypeError):
        return "services"
    others = (
        ("pipl.purposeCode", pipl.get("purposeCode", _ABSENT), purpose_code),
        ("pipl.purposeVersion", pipl.get("purposeVersion", _ABSENT), event.purpose_version),
        ("pipl.consentType", pipl.get("consentType", _ABSENT), event.consent_type),
        ("services.purposes.consentType", kantara_type, KANTARA_CONSENT_TYPES.get(event.consent_type or "")),
        ("pipl.policyVersion", pipl.get("policyVersion", _ABSENT), policy_label),
    )
    return next((name for name, actual, value in others if actual != value), None)


#: Stands for a claim that is absent: it equals nothing.
_ABSENT = object()


def _instant(value: Any) -> Any:
    """An ISO 8601 time as an instant, so that ``+00:00`` and ``Z`` compare equal."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value
