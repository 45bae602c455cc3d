"""Organizations, the PI catalogue, purposes (versioned, PIPL 14) and policies (PIPL 17)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consent_service.errors import (
    InvalidInput,
    NotFound,
    OrganizationExists,
    PolicyIncomplete,
    PolicyNotDraft,
    PurposeExists,
)
from consent_service.organizations import service as organizations
from consent_service.organizations.models import PICategory
from consent_service.policies import purposes
from consent_service.policies import service as policies
from tests.factories import SECTIONS, grant, make_org, make_purpose, make_subject, purpose_data


def test_catalogue_marks_annex_b_and_children_sensitive(db):
    rows = {c.code: c for c in db.session.scalars(select(PICategory))}
    assert len(rows) == 14
    assert rows["biometric"].is_sensitive and rows["minor_under_14"].is_sensitive
    assert not rows["basic"].is_sensitive
    assert rows["location"].sensitive_items  # location tracks are sensitive item by item
    assert rows["biometric"].name_zh == "个人生物识别信息"
    assert organizations.load_catalogue() == 14  # idempotent


def test_create_organization(db, clock):
    org = make_org(clock.now(), "shop", timezone="Asia/Shanghai")
    assert organizations.get_organization("shop").id == org.id
    with pytest.raises(OrganizationExists):
        make_org(clock.now(), "shop")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"slug": "Bad Slug!"}, "slug"),
        ({"name_en": ""}, "name_en"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"default_regime": "CCPA"}, "default_regime"),
        ({"contact_email": "not-an-email"}, "contact_email"),
    ],
)
def test_organization_bad_input(db, clock, options, field):
    args = {"slug": "ok-slug", "name_en": "Shop"} | options
    with pytest.raises(InvalidInput) as error:
        organizations.create_organization(args.pop("slug"), clock.now(), **args)
    assert field in error.value.details


def test_unknown_organization(db):
    with pytest.raises(NotFound):
        organizations.get_organization("nope")


def test_purpose_sensitivity_is_derived_from_categories(db, clock):
    org = make_org(clock.now())
    plain = make_purpose(org, clock.now(), "plain")
    face = make_purpose(org, clock.now(), "face", pi_categories=["biometric"], consent_requirement="separate")
    assert not plain.current.is_sensitive
    assert face.current.is_sensitive and face.current.needs_separate_consent


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "Has Spaces"}, "code"),
        ({"function_kind": "core"}, "function_kind"),
        ({"legal_basis": "legitimate_interest"}, "legal_basis"),
        ({"pi_categories": []}, "pi_categories"),
        ({"pi_categories": ["dna"]}, "pi_categories"),
        ({"consent_requirement": "none"}, "consent_requirement"),
        ({"legal_basis": "contract"}, "consent_requirement"),
        ({"pi_categories": ["biometric"], "consent_requirement": "explicit"}, "consent_requirement"),
        ({"recipients": [{"name": "X"}]}, "recipients"),
        (
            {"cross_border_recipients": [{"name": "X", "country": "SG", "contact": "x"}]},
            "cross_border_recipients",
        ),
        ({"retention_days": -1}, "retention_days"),
        ({"name_en": 42}, "name_en"),
    ],
)
def test_purpose_bad_input(db, clock, overrides, field):
    org = make_org(clock.now())
    with pytest.raises(InvalidInput) as error:
        purposes.create_purpose(org, purpose_data("p") | overrides, clock.now())
    assert field in error.value.details


def test_purpose_not_a_mapping(db, clock):
    org = make_org(clock.now())
    with pytest.raises(InvalidInput):
        purposes.create_purpose(org, ["not", "a", "dict"], clock.now())


def test_duplicate_purpose(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    with pytest.raises(PurposeExists):
        make_purpose(org, clock.now(), "p")


@pytest.mark.parametrize(
    ("change", "material"),
    [
        ({"name_zh": "新名称"}, False),
        ({"consent_validity_days": 90}, False),
        ({"description_en": "a different purpose"}, True),
        ({"processing_method_en": "a different method"}, True),
        ({"pi_categories": ["basic", "device"]}, True),
        (
            {
                "recipients": [{"name": "Courier", "contact": "c@x", "purpose": "delivery"}],
                "consent_requirement": "separate",
            },
            True,
        ),
    ],
)
def test_purpose_versions(db, clock, change, material):
    """PIPL 14: purpose, method, PI or recipients changing makes a material version."""
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    version = purposes.change_purpose(org, "p", change, clock.now(), note="why")
    purpose = purposes.get_purpose(org, "p")
    assert (version.version, version.is_material) == (2, material)
    assert purpose.current_version == 2
    assert purpose.material_version == (2 if material else 1)
    assert [v.version for v in purpose.versions] == [1, 2]
    assert purpose.versions[0].pi_categories == ["basic"]  # the old version is untouched


def test_purpose_change_refuses_no_op_and_bad_values(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    with pytest.raises(InvalidInput):
        purposes.change_purpose(org, "p", {"name_en": "p name"}, clock.now())
    with pytest.raises(InvalidInput):
        purposes.change_purpose(org, "p", {"legal_basis": "whim"}, clock.now())
    with pytest.raises(NotFound):
        purposes.change_purpose(org, "nope", {"name_en": "x"}, clock.now())
    assert purposes.get_purpose(org, "p").current_version == 1


def _draft(org, clock, label="v1", **overrides):
    data = {
        "label": label,
        "text_zh": "正文",
        "text_en": "Text",
        "sections": SECTIONS,
        "purposes": [p.code for p in purposes.list_purposes(org)],
    } | overrides
    return policies.create_policy(org, data, clock.now())


def test_publish_policy(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    _draft(org, clock)
    result = policies.publish_policy(org, "v1", clock.now())
    assert result.policy.status == "published" and result.policy.seq == 1
    assert len(result.policy.content_sha256) == 64
    assert policies.current_policy(org, clock.now()).label == "v1"


def test_publish_lists_every_missing_item(db, clock):
    """GB/T 35273 5.5 / PIPL 17: publishing refuses with what is missing, item by item."""
    org = make_org(clock.now(), pipo_contact=None)
    make_purpose(org, clock.now(), "p", processing_method_en=None, retention_days=None)
    make_purpose(org, clock.now(), "q")
    _draft(org, clock, purposes=["p"], sections={"rights": {"zh": "权利", "en": ""}}, text_en="")
    with pytest.raises(PolicyIncomplete) as error:
        policies.publish_policy(org, "v1", clock.now())
    items = {m["item"]: m["missing"] for m in error.value.details}
    assert set(items) == {
        "handler",
        "functions",
        "collection_retention",
        "rights",
        "refusal_consequences",
        "security_measures",
        "complaints",
    }
    assert any("PIPL 52" in m for m in items["handler"])
    assert "purpose 'q' is not covered" in items["functions"]
    assert "section 'rights' in en" in items["rights"]
    assert policies.get_policy(org, "v1").status == "draft"


def test_policy_must_cover_current_purpose_versions(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    _draft(org, clock)
    purposes.change_purpose(org, "p", {"description_en": "changed"}, clock.now())
    with pytest.raises(PolicyIncomplete, match="covered at version 1, current is 2"):
        policies.publish_policy(org, "v1", clock.now())
    policies.update_policy(org, "v1", {"purposes": ["p"]})
    policies.publish_policy(org, "v1", clock.now())


def test_published_policy_is_immutable_and_kept(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    _draft(org, clock)
    policies.publish_policy(org, "v1", clock.now())
    with pytest.raises(PolicyNotDraft):
        policies.update_policy(org, "v1", {"text_en": "rewritten"})
    with pytest.raises(PolicyNotDraft):
        policies.publish_policy(org, "v1", clock.now())
    clock.advance(days=1)
    _draft(org, clock, "v2")
    policies.publish_policy(org, "v2", clock.now())
    assert [p.label for p in policies.list_policies(org, published_only=True)] == ["v2", "v1"]
    assert policies.get_policy(org, "v1").text_en == "Text"


@pytest.mark.parametrize(
    "data",
    [
        {"label": ""},
        {"label": "v 1"},
        {"label": "v1", "sections": {"marketing": {"zh": "", "en": ""}}},
        {"label": "v1", "purposes": ["nope"]},
        {"label": "v1", "is_material_change": "perhaps"},
        {"label": "v1", "effective_at": "2026-01-01T00:00:00"},
    ],
)
def test_policy_bad_input(db, clock, data):
    org = make_org(clock.now())
    with pytest.raises((InvalidInput, NotFound)):
        policies.create_policy(org, data, clock.now())


def test_policy_label_unique(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    _draft(org, clock)
    with pytest.raises(PolicyNotDraft):
        _draft(org, clock)


def test_publish_preview_counts_what_publishing_would_and_writes_nothing(db, clock):
    """PIPL 14, 17: the number stated before publishing is the one publishing reports."""
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    _draft(org, clock)
    policies.publish_policy(org, "v1", clock.now())
    subject = make_subject(org, clock.now(), "alice")
    grant(org, subject, clock.now(), "p")
    _draft(org, clock, "v2", is_material_change=True)
    preview = policies.publish_preview(org, "v2")
    assert (preview.missing, preview.reconsent_purposes, preview.reconsent_required) == ([], ["p"], 1)
    assert policies.get_policy(org, "v2").seq is None
    assert purposes.get_purpose(org, "p").reconsent_policy_seq == 0
    assert policies.publish_policy(org, "v2", clock.now()).reconsent_required == 1
    with pytest.raises(PolicyNotDraft):
        policies.publish_preview(org, "v2")


def test_publish_preview_names_the_missing_items(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "p")
    _draft(org, clock, sections={})
    preview = policies.publish_preview(org, "v1")
    assert {m["item"] for m in preview.missing} == set(policies.POLICY_SECTIONS)
    assert preview.reconsent_required == 0
