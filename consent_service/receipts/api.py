"""Consent receipts over the API: a company fetches the receipt it handed to a person."""

from __future__ import annotations

from consent_service.api.registry import operation
from consent_service.organizations.models import Organization
from consent_service.receipts import service
from consent_service.receipts.schemas import ReceiptOut


@operation(
    "/receipts/<receipt_id>",
    scope="consents:read",
    tag="Receipts",
    response=ReceiptOut(),
    errors=(410,),
    clause="PIPL 15, 47; GB/T 35273 8.3",
    summary="Get a consent receipt",
)
def get_receipt(org: Organization, receipt_id: str):
    """The signed receipt (Kantara Consent Receipt v1.1 as a compact JWS) issued for a grant,
    verifiable against ``/.well-known/jwks.json``. A receipt erased with the person's
    information (PIPL 47) is 410 ``receipt_erased``, with the SHA-256 of the token it was."""
    return service.get_receipt(org, receipt_id)
