"""Webhook API schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from consent_service.webhooks import EVENT_TYPES
from consent_service.webhooks.models import DELIVERY_STATUSES
from consent_service.webhooks.outcomes import REASONS, STATUS_CLASSES


class WebhookCreateSchema(Schema):
    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        metadata={
            "description": "Where deliveries are posted. Its host must be, or resolve to, public "
            "addresses only (unless this deployment allows its private networks): loopback, "
            "private, link-local and other non-public addresses, in any notation, and `localhost` "
            "names are refused here and again at every delivery."
        },
    )
    events = fields.List(
        fields.String(validate=validate.OneOf((*EVENT_TYPES, "*"))),
        required=True,
        validate=validate.Length(min=1),
    )


class WebhookOut(Schema):
    id = fields.String(attribute="public_id")
    url = fields.String()
    events = fields.List(fields.String())
    created_at = fields.AwareDateTime()


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(metadata={"description": "The signing secret; shown only in this answer."})


class WebhookListOut(Schema):
    webhooks = fields.List(fields.Nested(WebhookOut))


class DeliveryOut(Schema):
    id = fields.String(attribute="public_id")
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime()
    last_attempt_at = fields.AwareDateTime(allow_none=True)
    last_status_code = fields.Integer(
        allow_none=True, metadata={"description": "The status code the endpoint last answered."}
    )
    last_status_class = fields.String(
        allow_none=True,
        validate=validate.OneOf(STATUS_CLASSES),
        metadata={"description": "The class of `last_status_code`; null when there was no answer."},
    )
    last_reason = fields.String(
        allow_none=True,
        validate=validate.OneOf(tuple(REASONS)),
        metadata={
            "description": "Why the last attempt failed, in fixed words: `http_error` (an answer other "
            "than 2xx), `address_not_allowed` (the host is or resolves to an address this service does "
            "not reach: nothing was sent), `dns_failure`, `connection_refused`, `connection_failed`, "
            "`timeout`, `tls_error` (handshake or certificate), `protocol_error` (not HTTP), "
            "`endpoint_deleted`. Null when it succeeded or was not tried."
        },
    )
    last_error = fields.String(
        allow_none=True,
        metadata={
            "description": "The fixed description of `last_reason` (`HTTP 503`, `connection refused`); "
            "never the error's own text."
        },
    )
    created_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True)
    payload = fields.Dict()


class DeliveryListOut(Schema):
    deliveries = fields.List(fields.Nested(DeliveryOut))
    next_cursor = fields.String(allow_none=True)


class DeliveryQuery(Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    # At most 18 digits: every such number fits the 64-bit id column it is compared with.
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
