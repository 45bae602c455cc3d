"""Input schemas for purposes and policy versions (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent_service.policies.models import CONSENT_REQUIREMENTS, FUNCTION_KINDS, LEGAL_BASES
from consent_service.policies.urls import policy_url
from consent_service.types import utc_representable

Text = fields.String
CODE = validate.Regexp(r"^[a-z][a-z0-9_.-]{0,63}$", error="lowercase letters, digits, _ . - ; 1-64")


class RecipientSchema(Schema):
    """A third party the information is provided to (PIPL 23)."""

    name = Text(required=True, validate=validate.Length(1, 200))
    contact = Text(required=True, validate=validate.Length(1, 200))
    purpose = Text(required=True, validate=validate.Length(1, 1000))


class CrossBorderRecipientSchema(Schema):
    """An overseas recipient (PIPL 38, 39)."""

    name = Text(required=True, validate=validate.Length(1, 200))
    country = Text(required=True, validate=validate.Length(2, 100))
    contact = Text(required=True, validate=validate.Length(1, 200))
    purpose = Text(load_default=None, validate=validate.Length(max=1000))
    rights_channel = Text(required=True, validate=validate.Length(1, 1000))


class PurposeContentSchema(Schema):
    """The content of a purpose version; every field is required when a purpose is created."""

    name_zh = Text(required=True, validate=validate.Length(1, 200))
    name_en = Text(required=True, validate=validate.Length(1, 200))
    description_zh = Text(required=True, validate=validate.Length(1, 5000))
    description_en = Text(required=True, validate=validate.Length(1, 5000))
    processing_method_zh = Text(load_default=None, validate=validate.Length(max=5000))
    processing_method_en = Text(load_default=None, validate=validate.Length(max=5000))
    function_kind = Text(required=True, validate=validate.OneOf(FUNCTION_KINDS))
    legal_basis = Text(required=True, validate=validate.OneOf(LEGAL_BASES))
    consent_requirement = Text(required=True, validate=validate.OneOf(CONSENT_REQUIREMENTS))
    pi_categories = fields.List(Text(), required=True, validate=validate.Length(min=1))
    recipients = fields.List(fields.Nested(RecipientSchema), load_default=list)
    cross_border_recipients = fields.List(fields.Nested(CrossBorderRecipientSchema), load_default=list)
    is_publicly_disclosed = fields.Boolean(load_default=False)
    retention_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 36500))
    retention_note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    consent_validity_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 36500)
    )

    @validates_schema
    def _basis_matches_requirement(self, data, **kwargs):
        basis = data.get("legal_basis")
        requirement = data.get("consent_requirement")
        if basis is None or requirement is None:
            return
        if basis == "consent" and requirement == "none":
            raise ValidationError("a purpose on consent needs a consent requirement", "consent_requirement")
        if basis != "consent" and requirement != "none":
            raise ValidationError(
                "a purpose on another legal basis asks no consent: use none (PIPL 13)",
                "consent_requirement",
            )


class PurposeCreateSchema(PurposeContentSchema):
    code = Text(required=True, validate=CODE)


class PolicySectionSchema(Schema):
    zh = Text(load_default="", validate=validate.Length(max=20000))
    en = Text(load_default="", validate=validate.Length(max=20000))


class PolicyDraftSchema(Schema):
    """A privacy policy draft (PIPL 17, GB/T 5.5)."""

    label = Text(required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))
    text_zh = Text(load_default="", validate=validate.Length(max=200000))
    text_en = Text(load_default="", validate=validate.Length(max=200000))
    sections = fields.Dict(
        keys=Text(
            validate=validate.OneOf(["rights", "refusal_consequences", "security_measures", "complaints"])
        ),
        values=fields.Nested(PolicySectionSchema),
        load_default=dict,
    )
    purposes = fields.List(Text(validate=CODE), load_default=list)
    change_summary = Text(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    is_material_change = fields.Boolean(load_default=False)
    effective_at = fields.AwareDateTime(load_default=None, allow_none=True, validate=utc_representable)


# --- API input and output ------------------------------------------------------------------


class PurposeChangeSchema(PurposeContentSchema):
    """A partial change: any content field; ``change_note`` says why."""

    change_note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    def __init__(self, **kwargs):
        # Partial by default (marshmallow has no ``Meta.partial``): fields left out keep their
        # current value instead of failing as required or taking a ``load_default``.
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class PurposeVersionOut(Schema):
    version = fields.Integer()
    name_zh = Text()
    name_en = Text()
    description_zh = Text()
    description_en = Text()
    processing_method_zh = Text(allow_none=True)
    processing_method_en = Text(allow_none=True)
    function_kind = Text()
    legal_basis = Text()
    consent_requirement = Text()
    pi_categories = fields.List(Text())
    is_sensitive = fields.Boolean()
    needs_separate_consent = fields.Boolean()
    recipients = fields.List(fields.Nested(RecipientSchema))
    cross_border_recipients = fields.List(fields.Nested(CrossBorderRecipientSchema))
    is_publicly_disclosed = fields.Boolean()
    retention_days = fields.Integer(allow_none=True)
    retention_note = Text(allow_none=True)
    consent_validity_days = fields.Integer(allow_none=True)
    is_material = fields.Boolean()
    change_note = Text(allow_none=True)
    created_at = fields.AwareDateTime()


class PurposeOut(Schema):
    """A purpose with its current version's content and its version history."""

    code = Text()
    current_version = fields.Integer()
    material_version = fields.Integer()
    current = fields.Nested(PurposeVersionOut)
    versions = fields.List(
        fields.Nested(PurposeVersionOut(only=("version", "is_material", "change_note", "created_at")))
    )
    created_at = fields.AwareDateTime()


class PurposeListOut(Schema):
    purposes = fields.List(fields.Nested(PurposeOut(exclude=("versions",))))


class PolicyOut(Schema):
    """A privacy policy version."""

    label = Text()
    status = Text()
    seq = fields.Integer(allow_none=True)
    text_zh = Text()
    text_en = Text()
    sections = fields.Dict(keys=Text(), values=fields.Nested(PolicySectionSchema))
    purposes = fields.Method("_purposes")
    change_summary = Text(allow_none=True)
    is_material_change = fields.Boolean()
    effective_at = fields.AwareDateTime(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)
    content_sha256 = Text(allow_none=True)
    url = fields.Method("_url")
    created_at = fields.AwareDateTime()

    def _purposes(self, policy) -> list[dict]:
        return [{"code": v.purpose.code, "version": v.version} for v in policy.purpose_versions]

    def _url(self, policy) -> str | None:
        return policy_url(policy.organization, policy) if policy.status == "published" else None


class PolicyListOut(Schema):
    policies = fields.List(fields.Nested(PolicyOut(exclude=("text_zh", "text_en", "sections"))))


class PublishOut(Schema):
    policy = fields.Nested(PolicyOut)
    reconsent_required = fields.Integer()
