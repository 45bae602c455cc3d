"""Public HTML pages: the landing page, the health check and published privacy policies.

The landing page links only to the organizations ``PUBLIC_ORGANIZATIONS`` lists (the demo
organization in development, none in production) and never shows counts. Policies are public
in every published version (PIPL 17); drafts are not. Errors are pages for people, never
tracebacks, and policy text is Markdown whose raw HTML is escaped.
"""

from __future__ import annotations

import html
import re

import pytest

from consent_service import demo
from consent_service.organizations import service as organizations
from consent_service.policies import service as policies
from tests.factories import SECTIONS, make_org, make_purpose, publish_policy

SCRIPT = "<script>alert(1)</script>"


def page(response) -> str:
    """The page's text with HTML entities decoded (for checking wording)."""
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def seeded(db, clock):
    demo.seed(clock.now())
    return organizations.get_organization(demo.SLUG)


@pytest.fixture
def listed_demo(app, monkeypatch):
    """The landing page lists the demo organization, as it does in development."""
    monkeypatch.setitem(app.config, "PUBLIC_ORGANIZATIONS", [demo.SLUG])


# --- landing page and health check --------------------------------------------------------------


def test_index_without_organizations(client, listed_demo):
    response = client.get("/?lang=en")
    assert response.status_code == 200
    assert "No organization yet" in page(response)
    assert "Hanshan Select Mall" not in page(response)


def test_index_lists_demo_org_in_english(client, seeded, listed_demo):
    response = client.get("/?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    text = page(response)
    assert "Consent and data-subject rights service" in text
    assert "Hanshan Select Mall" in text
    assert "寒山优选商城" not in text
    assert "<code>demo</code>" in text
    assert 'href="/o/demo/policy?lang=en"' in text
    assert 'href="/o/demo/policies?lang=en"' in text
    assert 'href="/.well-known/jwks.json"' in text
    assert 'href="/healthz"' in text
    assert "No organization yet" not in text


def test_index_in_chinese(client, seeded, listed_demo):
    response = client.get("/?lang=zh")
    assert response.status_code == 200
    text = page(response)
    assert '<html lang="zh-CN">' in text
    assert "个人信息同意与权利服务" in text
    assert "寒山优选商城" in text
    assert "Consent and data-subject rights service" not in text
    assert 'href="/o/demo/policy?lang=zh"' in text


def test_index_follows_accept_language_without_lang(client, seeded, listed_demo):
    english = page(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    chinese = page(client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    assert "Hanshan Select Mall" in english
    assert "寒山优选商城" in chinese


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_index_in_production_names_no_organization(production_app, seeded, clock, lang):
    org = make_org(clock.now(), "acme", name_en="Acme Trading", name_zh="阿克米贸易")
    make_purpose(org, clock.now())
    publish_policy(org, clock.now())
    assert production_app.config["PUBLIC_ORGANIZATIONS"] == []

    response = production_app.test_client().get(f"/?lang={lang}")
    assert response.status_code == 200
    text = page(response)
    names = ("Hanshan Select Mall", "寒山优选商城", "Acme Trading", "阿克米贸易", "acme")
    for name in (*names, "<code>demo</code>"):
        assert name not in text
    assert "/o/" not in text
    assert "Organizations" not in text and "组织" not in text
    assert "No organization yet" not in text and "还没有组织" not in text
    assert "sqlite" not in text and "postgresql" not in text  # nor what it runs on
    assert 'href="/api/v1/docs"' in text  # the rest of the page is there


def test_index_lists_only_the_configured_organizations(app, client, seeded, clock, monkeypatch):
    org = make_org(clock.now(), "acme", name_en="Acme Trading")
    make_purpose(org, clock.now())
    publish_policy(org, clock.now())
    make_org(clock.now(), "zeta", name_en="Zeta Unpublished")
    monkeypatch.setitem(app.config, "PUBLIC_ORGANIZATIONS", ["zeta", "acme", "not-an-org"])

    text = page(client.get("/?lang=en"))
    assert "Acme Trading" in text and "<code>acme</code>" in text
    assert 'href="/o/acme/policy?lang=en"' in text
    assert 'href="/o/acme/policies?lang=en"' in text
    assert "Zeta Unpublished" in text and "none published yet" in text
    assert text.index("Zeta Unpublished") < text.index("Acme Trading")  # in the setting's order
    assert "Hanshan Select Mall" not in text
    assert "/o/demo/" not in text
    assert "not-an-org" not in text


def test_index_shows_no_counts(client, seeded, listed_demo):
    raw = client.get("/?lang=en").get_data(as_text=True)
    for heading in ("Purposes", "Subjects", "Consent events"):
        assert f"<th>{heading}</th>" not in raw
    assert not re.search(r"<td>\s*\d+\s*</td>", raw)
    assert "All versions (" not in raw
    chinese = client.get("/?lang=zh").get_data(as_text=True)
    for heading in ("处理目的", "个人", "同意事件"):
        assert f"<th>{heading}</th>" not in chinese


def test_index_names_the_database_only_in_development(app, client, db, monkeypatch):
    assert "Database" not in page(client.get("/?lang=en"))
    monkeypatch.setitem(app.config, "ENV", "development")
    assert f"Database: <code>{db.engine.dialect.name}</code>" in page(client.get("/?lang=en"))


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok"}


# --- policies ---------------------------------------------------------------------------------


def test_current_policy_page(client, seeded):
    response = client.get("/o/demo/policy?lang=en")
    assert response.status_code == 200
    text = page(response)
    policy = policies.get_policy(seeded, demo.POLICY_LABEL)
    assert "Hanshan Select Mall" in text
    assert "刘洋 Liu Yang" in text
    assert "pipo@hanshan-mall.example" in text
    assert "privacy@hanshan-mall.example" in text
    assert "2026.1" in text
    assert "in force" in text
    assert policy.content_sha256 and len(policy.content_sha256) == 64
    assert f'<code class="hash">{policy.content_sha256}</code>' in text
    for purpose in demo.PURPOSES:
        assert f'id="purpose-{purpose["code"]}"' in text
        assert purpose["name_en"] in text
        assert purpose["description_en"] in text
    assert "Merlion Care Pte. Ltd., Singapore" in text
    assert "Xunda Express Co., Ltd." in text
    for key, section in demo.SECTIONS.items():
        assert f'<section id="{key}">' in text
        assert section["en"] in text
    assert "Hanshan Select Mall privacy policy" in text  # the Markdown body, rendered


def test_current_policy_page_in_chinese(client, seeded):
    text = page(client.get("/o/demo/policy?lang=zh"))
    assert "寒山优选商城" in text
    assert "现行" in text
    for purpose in demo.PURPOSES:
        assert purpose["name_zh"] in text
    for section in demo.SECTIONS.values():
        assert section["zh"] in text


def test_policy_version_page(client, seeded):
    response = client.get("/o/demo/policy/2026.1?lang=en")
    assert response.status_code == 200
    text = page(response)
    policy = policies.get_policy(seeded, "2026.1")
    assert "Version <strong>2026.1</strong>" in text
    assert policy.content_sha256 in text
    assert "in force" in text


def test_older_version_stays_readable_but_not_in_force(client, seeded, clock):
    clock.advance(days=10)
    publish_policy(seeded, clock.now(), "2026.2", sections=demo.SECTIONS, change_summary="new security text")

    old = client.get("/o/demo/policy/2026.1?lang=en")
    assert old.status_code == 200
    assert "Version <strong>2026.1</strong>" in page(old)
    assert "in force" not in page(old)
    current = page(client.get("/o/demo/policy?lang=en"))
    assert "Version <strong>2026.2</strong>" in current
    assert "in force" in current


def test_policy_history_page(client, seeded, clock):
    clock.advance(days=10)
    publish_policy(seeded, clock.now(), "2026.2", sections=demo.SECTIONS, change_summary="second version")
    response = client.get("/o/demo/policies?lang=en")
    assert response.status_code == 200
    text = page(response)
    assert 'href="/o/demo/policy/2026.1?lang=en"' in text
    assert 'href="/o/demo/policy/2026.2?lang=en"' in text
    assert "首次发布 / first published" in text
    assert "second version" in text
    assert text.index("2026.2") < text.index("2026.1")  # newest first


def test_draft_policy_is_not_public(client, seeded, clock):
    policies.create_policy(
        seeded,
        {
            "label": "2027.1",
            "text_zh": "草稿",
            "text_en": "draft text",
            "sections": demo.SECTIONS,
            "purposes": [p["code"] for p in demo.PURPOSES],
        },
        clock.now(),
    )
    assert client.get("/o/demo/policy/2027.1").status_code == 404
    history = page(client.get("/o/demo/policies?lang=en"))
    assert "2027.1" not in history
    assert "Version <strong>2026.1</strong>" in page(client.get("/o/demo/policy?lang=en"))


def test_unknown_policy_version_is_404(client, seeded):
    assert client.get("/o/demo/policy/1999.1").status_code == 404


def test_org_without_published_policy_is_404(client, db, clock):
    org = make_org(clock.now(), "unpublished")
    make_purpose(org, clock.now())
    assert client.get("/o/unpublished/policy").status_code == 404
    history = client.get("/o/unpublished/policies?lang=en")
    assert history.status_code == 200
    assert "No version published yet." in page(history)


@pytest.mark.parametrize("path", ["/o/nowhere/policy", "/o/nowhere/policy/2026.1", "/o/nowhere/policies"])
def test_unknown_org_is_a_404_page(client, path):
    response = client.get(path + "?lang=en")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    text = page(response)
    assert "<h1>404</h1>" in text
    assert "This page does not exist." in text
    assert "Traceback" not in text
    assert 'href="/?lang=en"' in text


def test_404_page_in_chinese(client):
    response = client.get("/no/such/page?lang=zh")
    assert response.status_code == 404
    assert "找不到这个页面。" in page(response)


def test_html_in_policy_text_is_escaped(client, db, clock):
    org = make_org(clock.now(), "xss-shop", name_en=f"Shop {SCRIPT}")
    make_purpose(org, clock.now(), "marketing", name_en=f"Offers {SCRIPT}", description_en=SCRIPT)
    sections = {k: dict(v) for k, v in SECTIONS.items()}
    sections["rights"]["en"] = f"Write to us.\n\n{SCRIPT}\n\n<img src=x onerror=alert(2)>"
    publish_policy(org, clock.now(), "v1", text_en=f"# Policy\n\n{SCRIPT}", sections=sections)

    response = client.get("/o/xss-shop/policy?lang=en")
    assert response.status_code == 200
    raw = response.get_data(as_text=True)
    assert "<script>" not in raw
    assert "<img" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "&lt;img src=x onerror=alert(2)&gt;" in raw
    assert "<h1>Policy</h1>" in raw  # Markdown still renders
    assert SCRIPT in page(response)  # shown as text
