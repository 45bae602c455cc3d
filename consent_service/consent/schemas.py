"""Consent API schemas: subjects, consent acts, state, history, decisions."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent_service.consent.models import COLLECTION_METHODS, CONSENT_TYPES
from consent_service.consent.rules import CALLER_ACTIONS, EVIDENCE_KEYS
from consent_service.types import utc_representable

Text = fields.String
PURPOSE_CODE = validate.Length(1, 64)
SUBJECT_ID = validate.Length(1, 200)
CALLER_METHODS = tuple(m for m in COLLECTION_METHODS if m != "system")


class GuardianSchema(Schema):
    name = Text(validate=validate.Length(1, 200))
    contact = Text(validate=validate.Length(1, 200))
    relationship = Text(validate=validate.Length(1, 64))


class SubjectIn(Schema):
    """Create or update a subject (个人信息主体); absent fields are left as they are."""

    email = fields.Email(validate=validate.Length(max=320))
    phone = Text(validate=validate.Regexp(r"^\+?[0-9 ()-]{3,64}$"))
    birth_date = fields.Date()
    is_under_14 = fields.Boolean()
    guardian = fields.Nested(GuardianSchema)


class SubjectOut(Schema):
    external_id = Text()
    email = Text(allow_none=True)
    phone = Text(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    is_under_14 = fields.Boolean()
    is_minor = fields.Boolean()
    guardian = fields.Method("_guardian")
    chain = fields.Method("_chain")
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()

    def _guardian(self, subject) -> dict | None:
        if not (subject.guardian_name or subject.guardian_contact or subject.guardian_relationship):
            return None
        return {
            "name": subject.guardian_name,
            "contact": subject.guardian_contact,
            "relationship": subject.guardian_relationship,
        }

    def _chain(self, subject) -> dict:
        return {"length": subject.chain_seq, "head": subject.chain_head}


class ActorSchema(Schema):
    kind = Text(load_default="subject", validate=validate.OneOf(("subject", "guardian", "officer")))
    name = Text(validate=validate.Length(1, 200))
    relationship = Text(validate=validate.Length(1, 64))
    reason = Text(validate=validate.Length(1, 1000))


class EvidenceSchema(Schema):
    ip = Text(validate=validate.Length(max=64))
    user_agent = Text(validate=validate.Length(max=2000))
    locale = Text(validate=validate.Length(max=35))
    notice_sha256 = Text(validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    document_ref = Text(validate=validate.Length(max=500))
    note = Text(validate=validate.Length(max=2000))


assert set(EvidenceSchema().fields) == EVIDENCE_KEYS


class ConsentActIn(Schema):
    """One consent act: one purpose, or several as one bundle (never for separate consent)."""

    purpose = Text(validate=PURPOSE_CODE)
    purposes = fields.List(Text(validate=PURPOSE_CODE), validate=validate.Length(1, 50))
    action = Text(required=True, validate=validate.OneOf(CALLER_ACTIONS))
    consent_type = Text(validate=validate.OneOf(CONSENT_TYPES))
    policy_version = Text(validate=validate.Length(1, 64))
    method = Text(load_default="api", validate=validate.OneOf(CALLER_METHODS))
    actor = fields.Nested(ActorSchema)
    evidence = fields.Nested(EvidenceSchema, load_default=dict)
    occurred_at = fields.AwareDateTime(validate=utc_representable)
    is_subject_initiated = fields.Boolean(load_default=False)

    @validates_schema
    def _one_of_purpose_or_purposes(self, data, **kwargs):
        if ("purpose" in data) == ("purposes" in data):
            raise ValidationError("give either purpose or purposes", "purpose")
        if data["action"] == "grant" and "consent_type" not in data:
            raise ValidationError("a grant needs a consent type", "consent_type")


class BatchActIn(ConsentActIn):
    subject = Text(required=True, validate=validate.Length(1, 200))
    idempotency_key = Text(validate=validate.Length(1, 200))


class BatchIn(Schema):
    items = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class EventOut(Schema):
    id = Text(attribute="uuid")
    seq = fields.Integer()
    purpose = fields.Function(lambda e: e.purpose.code)
    purpose_version = fields.Integer()
    policy_version = fields.Function(lambda e: e.policy.label if e.policy_version_id else None)
    action = Text()
    consent_type = Text(allow_none=True)
    actor = fields.Function(
        lambda e: {
            "kind": e.actor_kind,
            "name": e.actor_name,
            "relationship": e.actor_relationship,
            "reason": e.actor_reason,
        }
    )
    method = Text()
    evidence = fields.Dict()
    is_subject_initiated = fields.Boolean()
    bundle_id = Text()
    occurred_at = fields.AwareDateTime()
    recorded_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    hash = Text()
    prev_hash = Text(allow_none=True)


class StateOut(Schema):
    purpose = Text()
    status = Text()
    purpose_version = fields.Integer()
    consent_type = Text(allow_none=True)
    consent_event_id = Text()
    occurred_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    refused_at = fields.AwareDateTime(allow_none=True)


class ActOut(Schema):
    """The answer to a consent act."""

    subject = Text()
    replayed = fields.Boolean(
        metadata={
            "description": "In a batch result: the item's idempotency key was used before, and this "
            "is the first act's answer. A single act's retry returns the first answer unchanged, "
            "with the header Idempotent-Replayed: true."
        }
    )
    event = fields.Nested(EventOut, allow_none=True)
    state = fields.Nested(StateOut, allow_none=True)
    receipt = Text(allow_none=True, metadata={"description": "Compact JWS consent receipt (grants only)."})
    events = fields.List(fields.Nested(EventOut))
    states = fields.List(fields.Nested(StateOut))
    receipts = fields.List(Text())


class BatchOut(Schema):
    count = fields.Integer()
    results = fields.List(fields.Nested(ActOut))


class DecisionOut(Schema):
    subject = Text()
    purpose = Text()
    allowed = fields.Boolean()
    basis = Text(allow_none=True)
    basis_clause = Text(allow_none=True)
    reason = Text()
    purpose_version = fields.Integer(allow_none=True)
    consent_event_id = Text(allow_none=True)
    expires_at = fields.AwareDateTime(allow_none=True)
    checked_at = fields.AwareDateTime()
    reprompt_after = fields.AwareDateTime(allow_none=True)


class DecisionQuery(Schema):
    at = fields.AwareDateTime(
        validate=utc_representable, metadata={"description": "Decide for this moment instead of now."}
    )


class DecisionPair(Schema):
    subject = Text(required=True, validate=SUBJECT_ID)
    purpose = Text(required=True, validate=PURPOSE_CODE)


def _plain_pair(item: object) -> bool:
    """A pair that :class:`DecisionPair` would load unchanged: exactly the two keys, both text
    of the lengths it allows."""
    if type(item) is not dict or len(item) != 2:
        return False
    subject, purpose = item.get("subject"), item.get("purpose")
    return (
        type(subject) is str
        and SUBJECT_ID.min <= len(subject) <= SUBJECT_ID.max
        and type(purpose) is str
        and PURPOSE_CODE.min <= len(purpose) <= PURPOSE_CODE.max
    )


class DecisionPairs(fields.List):
    """A list of :class:`DecisionPair`, documented and validated as such, with a quick path
    for a list of plain pairs: loading a thousand of them was a third of a batch decision's
    time. Anything else goes through marshmallow, which names each error; a property test
    holds the two equal."""

    def __init__(self, **kwargs) -> None:
        super().__init__(fields.Nested(DecisionPair), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is list and all(map(_plain_pair, value)):
            return [{"subject": item["subject"], "purpose": item["purpose"]} for item in value]
        return super()._deserialize(value, attr, data, **kwargs)


class DecisionBatchIn(Schema):
    items = DecisionPairs(required=True, validate=validate.Length(min=1))
    at = fields.AwareDateTime(validate=utc_representable)


class DecisionBatchOut(Schema):
    results = fields.List(fields.Nested(DecisionOut))


class StateListOut(Schema):
    subject = Text()
    consents = fields.List(fields.Nested(DecisionOut))


class HistoryQuery(Schema):
    cursor = Text(validate=validate.Regexp(r"^[0-9]{1,9}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class HistoryOut(Schema):
    subject = Text()
    events = fields.List(fields.Nested(EventOut))
    next_cursor = Text(allow_none=True)
