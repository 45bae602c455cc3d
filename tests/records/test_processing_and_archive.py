"""The record of processing activities (GB/T 35273 11.3) and the privacy policy archive (PIPL
17): their plain data from the purposes, the ledger's states, the data systems, the staff and
the published versions, and the PDF read back with its Chinese and English text."""

from __future__ import annotations

import io

import pypdf

from consent_service.policies import purposes
from consent_service.records import downloads
from consent_service.records.policy_archive import policy_archive
from consent_service.records.processing import processing_record
from consent_service.records.verify import verify_record
from consent_service.rights import systems
from consent_service.staff import accounts
from tests.factories import grant, make_org, make_purpose, make_subject, publish_policy


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _shop(clock):
    org = make_org(clock.now(), "ropa-shop")
    make_purpose(org, clock.now(), "marketing")
    publish_policy(org, clock.now(), "v1")
    for n in range(3):
        person = make_subject(org, clock.now(), f"u-{n}")
        grant(org, person, clock.now(), "marketing")
    systems.register(org, name="CRM", owner="Sales", categories=["basic", "contacts"], now=clock.now())
    accounts.invite(org, "officer@shop.example", "Li Lei", "officer", clock.now())
    return org


def test_the_record_of_processing_activities_comes_from_purposes_states_systems_and_staff(db, clock):
    org = _shop(clock)
    record = processing_record(org, clock.now())
    [activity] = record["activities"]
    version = purposes.current_versions(org)["marketing"]
    assert (activity["purpose"], activity["version"], activity["legal_basis"]) == (
        "marketing", version.version, version.legal_basis
    )  # fmt: skip
    assert [c["code"] for c in activity["categories"]] == version.pi_categories
    assert activity["consents_in_force"] == 3 and activity["consents_withdrawn"] == 0
    assert record["people"] == 3
    assert record["staff"] == {"officer": 1}
    assert [s["name"] for s in record["systems"]] == ["CRM"]
    assert "officer@shop.example" not in repr(record)


def test_the_record_of_processing_activities_as_pdf_in_both_languages(app, db, clock):
    org = _shop(clock)
    pdf = downloads.processing_pdf(org, clock.now())
    check = verify_record(pdf)
    assert check.ok and check.kind == "processing_activities", check.messages
    assert b"marketing" in check.attachments["activities.csv"]
    text = _text(pdf)
    for expected in ("个人信息处理活动记录", "Record of processing activities", "GB/T 35273 11.3", "同意状态",
                     "in force: 3", "CRM", "第 1 页"):  # fmt: skip
        assert expected in text, expected


def test_the_policy_archive_lists_every_published_version_with_its_hash(app, db, clock):
    org = make_org(clock.now(), "archive-shop")
    make_purpose(org, clock.now(), "marketing")
    publish_policy(org, clock.now(), "v1")
    clock.advance(days=30)
    publish_policy(
        org, clock.now(), "v2", change_summary="新增短信营销 / SMS offers added", is_material_change=True
    )
    archive = policy_archive(org)
    assert [(v["label"], v["seq"], v["material"]) for v in archive["versions"]] == [
        ("v1", 1, False),
        ("v2", 2, True),
    ]
    assert all(len(v["content_sha256"]) == 64 for v in archive["versions"])
    pdf = downloads.archive_pdf(org, clock.now())
    assert verify_record(pdf).ok
    text = _text(pdf)
    assert archive["versions"][1]["change_summary"] == "新增短信营销 / SMS offers added", archive
    compact = text.replace(" ", "")
    assert "新增短信营销" in compact and "SMSoffersadded" in compact
    assert archive["versions"][1]["content_sha256"] in text.replace(" ", "")
