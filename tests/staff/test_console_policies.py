"""The console's purposes and privacy policy pages: the versions and purposes, a draft's form
(saved, or refused beside the field with nothing saved), its difference from the published
version line by line, the GB/T 35273 5.5 checklist that refuses publishing, the confirmation
that states the re-consent a material change causes, and the purposes' forms; every post
leaves its audit entry with before and after."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from consent_service.audit.models import AuditEntry
from consent_service.consent.decisions import decide
from consent_service.console import policy_work
from consent_service.policies import purposes
from consent_service.policies import service as policies
from tests.factories import SECTIONS, grant, make_org, make_purpose, make_subject, publish_policy
from tests.staff.console_support import console_post, sign_in_as


def _own(details: dict) -> dict:
    """An entry's details but the services' own notes (``changes``), which
    tests/test_changes.py covers."""
    return {key: value for key, value in details.items() if key != "changes"}


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "marketing")
    publish_policy(org, clock.now())
    return org


@pytest.fixture
def admin(client, org, clock):
    sign_in_as(client, org, clock, "admin")
    return client


def draft_form(**changes) -> dict:
    """Every field of the draft form, as the published version v1 has them, with ``changes``."""
    form = {
        "text_zh": "政策正文",
        "text_en": "Policy text",
        "purposes": ["marketing"],
        "change_summary": "",
        "effective_at": "",
    }
    for key, section in SECTIONS.items():
        form |= {f"sections.{key}.zh": section["zh"], f"sections.{key}.en": section["en"]}
    return form | changes


def purpose_form(code: str = "marketing", **changes) -> dict:
    """Every field of the purpose form, as the factory's purpose has them, with ``changes``."""
    form = {
        "code": code,
        "name_zh": f"{code} 中文",
        "name_en": f"{code} name",
        "description_zh": "描述",
        "description_en": "description",
        "processing_method_zh": "方式",
        "processing_method_en": "method",
        "function_kind": "extended",
        "legal_basis": "consent",
        "consent_requirement": "explicit",
        "pi_categories": ["basic"],
        "retention_days": "365",
        "retention_note": "",
        "consent_validity_days": "",
        "recipients": "",
        "cross_border_recipients": "",
        "change_note": "",
    }
    return form | changes


def new_draft(client, label: str = "v2"):
    answer = console_post(client, "/console/shop/policies?lang=en", label=label)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return answer


def entries(db, org, action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.org_id == org.id, AuditEntry.action == f"console:{action}")
            .order_by(AuditEntry.seq)
        )
    )


def text(answer) -> str:
    return answer.get_data(as_text=True)


def test_the_pages_render_in_english_and_chinese(admin, org):
    new_draft(admin)
    pages = {
        "/console/shop/policies": ("Privacy policies", "隐私政策"),
        "/console/shop/policies/v1": ("Version v1", "版本 v1"),
        "/console/shop/policies/v2": ("What the policy must say", "政策必须说明的事项"),
        "/console/shop/policies/v2/edit": ("Edit draft v2", "编辑草稿 v2"),
        "/console/shop/policies/v2/publish": ("Publish version v2", "发布版本 v2"),
        "/console/shop/purposes/new": ("New purpose", "新建处理目的"),
        "/console/shop/purposes/marketing/change": ("Change purpose marketing", "变更处理目的 marketing"),
    }
    for path, (en, zh) in pages.items():
        english, chinese = admin.get(path + "?lang=en"), admin.get(path + "?lang=zh")
        assert english.status_code == chinese.status_code == 200, path
        assert en in text(english) and zh in text(chinese), path


def test_the_list_shows_versions_purposes_and_the_navigation(admin, org):
    new_draft(admin)
    html = text(admin.get("/console/shop/policies?lang=en"))
    assert re.search(r">v1</a>\s*<span class=\"badge\">in force", html)
    assert "published" in html and "draft" in html and "Nov 2, 2026" in html
    assert "marketing name" in html and "consent (PIPL 13(1))" in html
    assert 'href="/console/shop/policies?lang=en" aria-current="page">Policies</a>' in html


def test_an_officer_sees_no_policies_link(client, org, clock):
    sign_in_as(client, org, clock, "officer")
    assert "Policies</a>" not in text(client.get("/console/shop/?lang=en"))
    assert client.get("/console/shop/policies?lang=en").status_code == 403


def test_a_new_draft_starts_from_the_published_version(admin, org, db):
    answer = new_draft(admin)
    assert answer.location == "/console/shop/policies/v2/edit?lang=en&done=created"
    draft = policies.get_policy(org, "v2")
    assert (draft.status, draft.text_en, draft.sections) == ("draft", "Policy text", SECTIONS)
    assert [v.purpose.code for v in draft.purpose_versions] == ["marketing"]
    [entry] = entries(db, org, "policy.create")
    assert entry.actor.startswith("staff:") and entry.target == "policy_version:v2"
    assert _own(entry.details) == {
        "before": {"label": "v2", "status": None},
        "after": {"label": "v2", "status": "draft"},
        "from_label": "v1",
    }
    again = console_post(admin, "/console/shop/policies?lang=en", label="v2")
    assert again.status_code == 409 and "A version with this label exists" in text(again)
    bad = console_post(admin, "/console/shop/policies?lang=en", label="v 3")
    assert bad.status_code == 400 and 'id="label-error"' in text(bad)


def test_editing_a_draft_saves_it_with_its_audit_entry(admin, org, db):
    new_draft(admin)
    form = draft_form(
        text_en="Policy text, rewritten", change_summary="Clearer words", is_material_change="1"
    )
    answer = console_post(admin, "/console/shop/policies/v2/edit?lang=en", **form)
    assert answer.status_code == 303 and answer.location == "/console/shop/policies/v2?lang=en&done=saved"
    db.session.expire_all()
    draft = policies.get_policy(org, "v2")
    assert (draft.text_en, draft.change_summary, draft.is_material_change) == (
        "Policy text, rewritten",
        "Clearer words",
        True,
    )
    [entry] = entries(db, org, "policy.update")
    assert _own(entry.details) == {
        "before": {"label": "v2", "status": "draft"},
        "after": {"label": "v2", "status": "draft"},
        "changed": ["text_en", "change_summary", "is_material_change"],
    }
    assert "rewritten" not in str(entry.details)
    assert "The draft is saved." in text(admin.get(answer.location))


def test_bad_input_is_said_beside_the_field_and_nothing_is_saved(admin, org, db):
    new_draft(admin)
    form = draft_form(text_en="Not to be saved", effective_at="someday")
    answer = console_post(admin, "/console/shop/policies/v2/edit?lang=en", **form)
    html = text(answer)
    assert answer.status_code == 400
    assert re.search(
        r'id="effective_at"[^>]*aria-invalid="true"[^>]*>\s*<p class="field-error" id="effective_at-error">'
        r"Enter a date and time",
        html,
    )
    assert "Not to be saved" in html  # what was typed is kept in the form
    db.session.expire_all()
    assert policies.get_policy(org, "v2").text_en == "Policy text"
    assert entries(db, org, "policy.update") == []
    zh = console_post(admin, "/console/shop/policies/v2/edit?lang=zh", **form)
    assert zh.status_code == 400 and "请输入日期和时间" in text(zh)


def test_a_too_long_section_is_refused_beside_it(admin, org, db):
    new_draft(admin)
    form = draft_form(**{"sections.rights.en": "x" * 20001})
    answer = console_post(admin, "/console/shop/policies/v2/edit?lang=en", **form)
    assert answer.status_code == 400
    assert 'id="sections-rights-en-error">Keep each section under 20,000 characters.' in text(answer)


def test_the_draft_page_shows_the_lines_added_and_removed(admin, org):
    new_draft(admin)
    form = draft_form(text_en="Policy text, rewritten\nA second <b>line</b>")
    console_post(admin, "/console/shop/policies/v2/edit?lang=en", **form)
    html = text(admin.get("/console/shop/policies/v2?lang=en"))
    assert "Changes from version v1" in html
    assert re.search(r'<li class="diff-removed"><span class="diff-marker">−</span>.*?Policy text</li>', html)
    assert re.search(
        r'<li class="diff-added"><span class="diff-marker">\+</span>.*?Policy text, rewritten</li>', html
    )
    assert "A second &lt;b&gt;line&lt;/b&gt;</li>" in html  # escaped, never markup
    assert "Policy text (English)" in html and "Policy text (Chinese)" not in html  # only what changed


def test_the_checklist_names_a_missing_item_and_publishing_is_refused(admin, org, db):
    new_draft(admin)
    console_post(
        admin, "/console/shop/policies/v2/edit?lang=en", **draft_form(**{"sections.complaints.en": ""})
    )
    html = text(admin.get("/console/shop/policies/v2?lang=en"))
    assert "✗ missing" in html and "Complaint channels" in html and "GB/T 35273 5.5 (8)" in html
    assert "The section “Complaint channels” in English" in html
    assert "✓ met" in html  # the other items
    assert "Publishing is refused until every missing item above is supplied." in html
    confirm = text(admin.get("/console/shop/policies/v2/publish?lang=en"))
    assert (
        "The section “Complaint channels” in English" in confirm
        and "Publish version v2</button>" not in confirm
    )
    answer = console_post(admin, "/console/shop/policies/v2/publish?lang=en")
    assert answer.status_code == 422
    assert "Publishing was refused" in text(answer) and "Complaint channels" in text(answer)
    db.session.expire_all()
    assert policies.get_policy(org, "v2").status == "draft"
    assert entries(db, org, "policy.publish") == []
    zh = text(admin.get("/console/shop/policies/v2?lang=zh"))
    assert "投诉、举报渠道" in zh and "英文的“投诉、举报渠道”一节" in zh


def test_a_material_change_states_the_reconsent_before_publishing(admin, org, db, clock):
    """PIPL 14, 17: the confirmation says which purposes changed materially and how many
    consents will need re-consent; publishing then sends them to re-consent."""
    alice = make_subject(org, clock.now(), "alice")
    grant(org, alice, clock.now(), "marketing")
    db.session.commit()
    clock.advance(minutes=1)
    changed = console_post(
        admin,
        "/console/shop/purposes/marketing/change?lang=en",
        **purpose_form(pi_categories=["basic", "device"]),
    )
    assert changed.status_code == 303 and "done=purpose_changed_material" in changed.location
    new_draft(admin)
    console_post(admin, "/console/shop/policies/v2/edit?lang=en", **draft_form(is_material_change="1"))

    confirm = text(admin.get("/console/shop/policies/v2/publish?lang=en"))
    assert "marketing: 1 → 2" in confirm and "changed materially" in confirm
    assert "every consent in force given under an earlier policy to marketing will need re-consent" in confirm
    assert "Consents that will need re-consent: 1" in confirm
    assert policies.get_policy(org, "v2").status == "draft"  # counting published nothing
    assert "需要重新同意的同意：1" in text(admin.get("/console/shop/policies/v2/publish?lang=zh"))

    answer = console_post(admin, "/console/shop/policies/v2/publish?lang=en")
    assert answer.status_code == 303 and answer.location.startswith("/console/shop/policies?")
    assert "Version v2 is published. Consents that now need re-consent: 1." in text(
        admin.get(answer.location)
    )
    decision = decide(org, "alice", "marketing", clock.now(), clock.now())
    assert (decision.allowed, decision.reason) == (False, "reconsent_required")
    [entry] = entries(db, org, "policy.publish")
    assert entry.target == "policy_version:v2"
    assert entry.details["before"] == {"label": "v2", "status": "draft", "seq": None}
    assert entry.details["after"] | {"published_at": None} == {
        "label": "v2",
        "status": "published",
        "seq": 2,
        "published_at": None,
        "reconsent_required": 1,
    }
    assert entry.details["is_material_change"] is True


def test_publishing_a_material_policy_change_turns_a_consent_to_reconsent(admin, org, db, clock):
    alice = make_subject(org, clock.now(), "alice")
    grant(org, alice, clock.now(), "marketing")
    db.session.commit()
    new_draft(admin)
    console_post(admin, "/console/shop/policies/v2/edit?lang=en", **draft_form(is_material_change="1"))
    assert decide(org, "alice", "marketing", clock.now(), clock.now()).reason == "consent_granted"
    assert "Consents that will need re-consent: 1" in text(
        admin.get("/console/shop/policies/v2/publish?lang=en")
    )
    assert console_post(admin, "/console/shop/policies/v2/publish?lang=en").status_code == 303
    db.session.expire_all()
    assert decide(org, "alice", "marketing", clock.now(), clock.now()).reason == "reconsent_required"


def test_a_change_that_is_not_material_says_no_consent_needs_reconsent(admin, org, db, clock):
    alice = make_subject(org, clock.now(), "alice")
    grant(org, alice, clock.now(), "marketing")
    db.session.commit()
    new_draft(admin)
    confirm = text(admin.get("/console/shop/policies/v2/publish?lang=en"))
    assert "not marked as a material change" in confirm and "Consents that will need re-consent: 0" in confirm
    answer = console_post(admin, "/console/shop/policies/v2/publish?lang=en")
    assert "Consents that now need re-consent: 0." in text(admin.get(answer.location))
    assert decide(org, "alice", "marketing", clock.now(), clock.now()).reason == "consent_granted"


def test_a_published_version_cannot_be_edited(admin, org):
    answer = console_post(admin, "/console/shop/policies/v1/edit?lang=en", **draft_form(text_en="x"))
    assert answer.status_code == 409 and "a published version does not change" in text(answer)
    assert admin.get("/console/shop/policies/v1/publish?lang=en").status_code == 409
    assert admin.get("/console/shop/policies/v9?lang=en").status_code == 404


def test_a_purpose_is_created_with_its_audit_entry(admin, org, db):
    answer = console_post(
        admin,
        "/console/shop/purposes?lang=en",
        **purpose_form("newsletter", recipients="Mailer | m@x.example | sending"),
    )
    assert answer.status_code == 400  # a recipient needs separate consent (PIPL 23)
    assert 'id="consent_requirement-error">This purpose needs separate (or written) consent' in text(answer)
    form = purpose_form(
        "newsletter", recipients="Mailer | m@x.example | sending", consent_requirement="separate"
    )
    answer = console_post(admin, "/console/shop/purposes?lang=en", **form)
    assert answer.status_code == 303, text(answer)
    purpose = purposes.get_purpose(org, "newsletter")
    assert purpose.current.recipients == [{"name": "Mailer", "contact": "m@x.example", "purpose": "sending"}]
    assert "Purpose newsletter is created at version 1." in text(admin.get(answer.location))
    [entry] = entries(db, org, "purpose.create")
    assert entry.target == "purpose:newsletter"
    assert _own(entry.details) == {
        "before": {"code": "newsletter", "version": None},
        "after": {"code": "newsletter", "version": 1},
    }


def test_a_bad_purpose_is_said_beside_its_fields_and_not_created(admin, org, db):
    form = purpose_form("Bad Code", name_en="", pi_categories=[], retention_days="forever")
    answer = console_post(admin, "/console/shop/purposes?lang=en", **form)
    html = text(answer)
    assert answer.status_code == 400
    assert 'id="code-error">Use 1 to 64 lowercase letters' in html
    assert 'id="name_en-error">Enter a name of 1 to 200 characters.' in html
    assert 'id="pi_categories-error">Choose at least one category' in html
    assert 'id="retention_days-error">Enter a whole number of days' in html
    assert [p.code for p in purposes.list_purposes(org)] == ["marketing"]
    assert entries(db, org, "purpose.create") == []
    exists = console_post(admin, "/console/shop/purposes?lang=en", **purpose_form("marketing"))
    assert exists.status_code == 409 and 'id="code-error">A purpose with this code exists' in text(exists)


def test_changing_a_purpose_says_whether_the_change_is_material(admin, org, db):
    form = purpose_form(name_en="Offers by SMS", change_note="clearer name")
    answer = console_post(admin, "/console/shop/purposes/marketing/change?lang=en", **form)
    assert answer.status_code == 303
    assert "now at version 2. The change is not material" in text(admin.get(answer.location))
    form = purpose_form(name_en="Offers by SMS", pi_categories=["basic", "device"])
    answer = console_post(admin, "/console/shop/purposes/marketing/change?lang=en", **form)
    assert "now at version 3. The change is material: consents to earlier versions need re-consent" in text(
        admin.get(answer.location)
    )
    db.session.expire_all()
    purpose = purposes.get_purpose(org, "marketing")
    assert (purpose.current_version, purpose.material_version) == (3, 3)
    first, second = entries(db, org, "purpose.change")
    assert _own(first.details) == {
        "before": {"code": "marketing", "version": 1, "material_version": 1},
        "after": {"code": "marketing", "version": 2, "material_version": 1},
        "changed": ["name_en"],
        "is_material": False,
        "note_length": 12,
    }
    assert second.details["after"] == {"code": "marketing", "version": 3, "material_version": 3}
    assert second.details["changed"] == ["pi_categories"] and second.details["is_material"] is True
    same = console_post(admin, "/console/shop/purposes/marketing/change?lang=en", **form)
    assert same.status_code == 400 and "Nothing changed" in text(same)
    assert len(entries(db, org, "purpose.change")) == 2


def test_every_missing_item_is_said_in_both_languages(app, db, clock):
    """Each kind of thing the GB/T 5.5 check can name has its words on the page."""
    org = make_org(clock.now(), "bare", pipo_contact=None, contact_email=None)
    make_purpose(org, clock.now(), "p", processing_method_en=None, retention_days=None)
    make_purpose(org, clock.now(), "q")
    make_purpose(
        org, clock.now(), "r", consent_requirement="separate",
        cross_border_recipients=[{"name": "X", "country": "SG", "contact": "x", "rights_channel": "y"}],
    )  # fmt: skip
    policies.create_policy(org, {"label": "v1", "purposes": ["p", "r"], "text_en": ""}, clock.now())
    purposes.change_purpose(org, "r", {"name_en": "renamed"}, clock.now())
    items = policies.missing_items(policies.get_policy(org, "v1"))
    found = [said for item in items for said in item["missing"]]
    assert len(found) >= 8
    for lang in ("en", "zh"):
        with app.test_request_context(f"/?lang={lang}"):
            for message in found:
                assert policy_work.missing_text(message, lang) != message, message
