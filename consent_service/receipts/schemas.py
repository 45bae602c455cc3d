"""What the receipts' API answers (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, fields


class ReceiptOut(Schema):
    """A stored consent receipt: the compact JWS the person was given, and its key."""

    receipt_id = fields.String()
    kid = fields.String()
    issued_at = fields.AwareDateTime()
    jws = fields.String()
