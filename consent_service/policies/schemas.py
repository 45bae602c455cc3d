"""Input schemas for purposes and policy versions (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent_service.policies.models import CONSENT_REQUIREMENTS, FUNCTION_KINDS, LEGAL_BASES

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
    effective_at = fields.AwareDateTime(load_default=None, allow_none=True)
