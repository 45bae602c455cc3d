"""PDF rendering: real WeasyPrint output read back with pypdf, the URL fetcher's refusals, the
fake, and the choice by configuration.

Every test that might fetch something runs with :func:`no_sockets`, which fails any name
lookup or connection at all (the suite's own guard lets local ones through, and does not see
DNS): a refusal here is the fetcher's own, never a failed connection.
"""

from __future__ import annotations

import base64
import io
import logging
import socket
from datetime import date
from pathlib import Path

import pypdf
import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader

from consent_service import create_app
from consent_service.config import ConfigurationError
from consent_service.pdf import FakeRenderer, PdfRenderer, WeasyPrintRenderer, from_config
from consent_service.pdf.render import check_plain
from consent_service.services import lookup

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://consent.test"  # the test application's BASE_URL

RECORD = {
    "title": "个人信息处理活动记录 Record of processing activities",
    "organization": {
        "name": "示例科技有限公司 Example Technology Co., Ltd.",
        "officer": {"name": "张伟 Zhang Wei", "contact": "pipo@example.cn"},
    },
    "reference": "ROPA-2026-001",
    "generated_at": "2026-11-02 10:00 (Asia/Shanghai)",
    "body": "处理目的：账户注册与登录。Purpose: account registration and sign-in.",
}


def text_of(pdf: bytes) -> list[str]:
    """The extracted text of each page, each run of white space (a line break) one space."""
    assert pdf.startswith(b"%PDF-")
    return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def no_sockets(monkeypatch):
    """Fail any name lookup or connection, even to this machine; the attempts are listed."""
    attempts: list[tuple[str, tuple]] = []

    def refuse(name):
        def spy(*args, **kwargs):
            attempts.append((name, args))
            raise RuntimeError(f"{name} while rendering a PDF: {args!r}")

        return spy

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    return attempts


@pytest.fixture
def templates(app):
    """Templates of the test's own (name -> source), looked up before the application's."""
    own = DictLoader({})
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([own, original])
    try:
        yield own.mapping
    finally:
        app.jinja_env.loader = original


@pytest.fixture
def static(tmp_path) -> Path:
    """A static folder of the test's own, with a stylesheet whose effect shows in the text."""
    folder = tmp_path / "static"
    (folder / "css").mkdir(parents=True)
    (folder / "test.css").write_text('@page { @top-center { content: "样式已加载 stylesheet loaded" } }\n')
    (folder / "css" / "imports.css").write_text('@import url("more.css");\n')
    (folder / "css" / "more.css").write_text('@page { @top-left { content: "相对导入 relative import" } }\n')
    (tmp_path / "outside.css").write_text('@page { @top-right { content: "OUTSIDE LOADED" } }\n')
    return folder


@pytest.fixture
def weasyprint_errors(caplog):
    """The resource errors WeasyPrint reports (it logs them, and renders without the resource)."""
    caplog.set_level(logging.ERROR, logger="weasyprint")
    return lambda: [
        r.getMessage() for r in caplog.records if r.name == "weasyprint" and r.levelno >= logging.ERROR
    ]


def page(head: str = "", body: str = "<p>正文 body</p>") -> str:
    """A small HTML document."""
    return f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">{head}</head><body>{body}</body>'


# --- the record frame ---------------------------------------------------------------------------


def test_a_record_with_chinese_and_english_text(app, no_sockets, weasyprint_errors):
    with app.app_context():
        pdf = lookup(PdfRenderer).render("pdf/base.html", RECORD)
    (text,) = text_of(pdf)
    for expected in (
        "个人信息处理活动记录",
        "Record of processing activities",
        "示例科技有限公司",
        "Example Technology Co., Ltd.",
        "个人信息保护负责人",
        "张伟",
        "Zhang Wei",
        "pipo@example.cn",
        "ROPA-2026-001",
        "处理目的：账户注册与登录。",
        "Purpose: account registration and sign-in.",
    ):
        assert expected in text
    assert "第 1 页 / 共 1 页" in text
    # static:pdf/record.css was found and loaded: a failed load would be reported here.
    assert weasyprint_errors() == []
    assert no_sockets == []


def test_page_numbers_count_every_page(app, templates, no_sockets):
    templates["test/long.html"] = (
        '{% extends "pdf/base.html" %}{% block content %}<table><thead><tr><th>序号 No.</th>'
        "<th>目的 Purpose</th></tr></thead><tbody>{% for row in rows %}<tr><td>{{ row.n }}</td>"
        "<td>{{ row.purpose }}</td></tr>{% endfor %}</tbody></table>{% endblock %}"
    )
    rows = [{"n": n, "purpose": f"第 {n} 项处理目的 purpose number {n}"} for n in range(1, 121)]
    with app.app_context():
        pdf = lookup(PdfRenderer).render("test/long.html", {**RECORD, "rows": rows})
    pages = text_of(pdf)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text
    assert "purpose number 120" in pages[-1]
    assert no_sockets == []


def test_the_record_stylesheet_is_served_from_static(app, no_sockets):
    from consent_service.pdf.fetcher import StaticFilesOnly

    fetcher = StaticFilesOnly(app.static_folder, BASE_URL)
    response = fetcher.fetch("static:pdf/record.css")
    try:
        assert response.content_type == "text/css"
        assert response.read() == (ROOT / "static" / "pdf" / "record.css").read_bytes()
        assert response.url == BASE_URL + "/static/pdf/record.css"
    finally:
        response.close()


# --- what the fetcher loads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "href",
    [
        "static:test.css",
        "static:/test.css",
        "/static/test.css",
        "static/test.css",  # relative to BASE_URL
        BASE_URL + "/static/test.css",
        "static:css/../test.css",
        "static:test.css?v=1",
    ],
)
def test_an_allowed_static_stylesheet_is_loaded(app, templates, static, no_sockets, weasyprint_errors, href):
    templates["test/styled.html"] = page(f'<link rel="stylesheet" href="{href}">')
    with app.app_context():
        pdf = WeasyPrintRenderer(static, BASE_URL).render("test/styled.html", {})
    (text,) = text_of(pdf)
    assert "样式已加载 stylesheet loaded" in text
    assert weasyprint_errors() == []
    assert no_sockets == []


def test_a_stylesheet_imports_its_neighbour_by_a_relative_url(app, templates, static, no_sockets):
    templates["test/imports.html"] = page('<link rel="stylesheet" href="static:css/imports.css">')
    with app.app_context():
        pdf = WeasyPrintRenderer(static, BASE_URL).render("test/imports.html", {})
    assert "相对导入 relative import" in text_of(pdf)[0]
    assert no_sockets == []


def test_a_data_url_is_decoded_in_memory(app, templates, static, no_sockets, weasyprint_errors):
    css = base64.b64encode(b"@page { @top-center { content: 'inline data stylesheet' } }").decode()
    templates["test/data.html"] = page(f'<link rel="stylesheet" href="data:text/css;base64,{css}">')
    with app.app_context():
        pdf = WeasyPrintRenderer(static, BASE_URL).render("test/data.html", {})
    assert "inline data stylesheet" in text_of(pdf)[0]
    assert weasyprint_errors() == []
    assert no_sockets == []


def test_local_files_and_outside_hosts_are_refused_while_rendering(
    app, templates, static, no_sockets, weasyprint_errors
):
    outside = (static.parent / "outside.css").as_uri()
    refused = [
        "file:///etc/passwd",
        "https://example.com/x.png",
        "https://example.com/x.css",
        outside,
        "http://127.0.0.1:5000/static/test.css",
        "static:../outside.css",
    ]
    templates["test/hostile.html"] = page(
        f'<link rel="stylesheet" href="{outside}"><link rel="stylesheet" href="https://example.com/x.css">'
        '<link rel="stylesheet" href="static:../outside.css">'
        '<link rel="stylesheet" href="http://127.0.0.1:5000/static/test.css">',
        '<p>仍然渲染 still rendered</p><img src="file:///etc/passwd"><img src="https://example.com/x.png">',
    )
    with app.app_context():
        pdf = WeasyPrintRenderer(static, BASE_URL).render("test/hostile.html", {})
    (text,) = text_of(pdf)
    assert "仍然渲染 still rendered" in text
    assert "OUTSIDE LOADED" not in text and "stylesheet loaded" not in text
    assert "root:" not in text
    errors = weasyprint_errors()
    for url in refused:
        assert any(url in message and "UrlRefused" in message for message in errors), (url, errors)
    assert no_sockets == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "https://example.com/x.png",
        "http://example.com/static/test.css",
        "http://consent.test/static/test.css",  # the application's host, another scheme
        "https://consent.test.example.com/static/test.css",
        "https://consent.test/other/test.css",  # the application, not its static files
        "https://consent.test/static/../outside.css",
        "http://127.0.0.1:5000/static/test.css",
        "http://localhost/static/test.css",
        "ftp://example.com/x.css",
        "static:../outside.css",
        "static:%2e%2e/outside.css",
        "static:css/../../outside.css",
        "static:missing.css",
        "static:",
        "static:css",  # a folder
        "static:test.css%00.png",
        "//example.com/x.css",
    ],
)
def test_the_fetcher_refuses(static, no_sockets, url):
    from consent_service.pdf.fetcher import StaticFilesOnly, UrlRefused

    fetcher = StaticFilesOnly(static, BASE_URL)
    with pytest.raises(UrlRefused):
        fetcher.fetch(url)
    assert no_sockets == []


def test_the_fetcher_refuses_a_link_out_of_the_static_folder(static, no_sockets):
    from consent_service.pdf.fetcher import StaticFilesOnly, UrlRefused

    (static / "link.css").symlink_to(static.parent / "outside.css")
    with pytest.raises(UrlRefused):
        StaticFilesOnly(static, BASE_URL).fetch("static:link.css")


# --- plain data ---------------------------------------------------------------------------------


class Row:
    """Stands for an ORM object."""


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"organization": Row()}, "data.organization"),
        ({"rows": [{"n": 1}, {"n": Row()}]}, r"data.rows\[1\].n"),
        ({"pairs": {1: "one"}}, "data.pairs"),
    ],
)
def test_templates_receive_plain_data_only(app, data, where):
    with pytest.raises(TypeError, match=where):
        check_plain(data)
    with app.app_context(), pytest.raises(TypeError, match="plain data|keys are strings"):
        lookup(PdfRenderer).render("pdf/base.html", {**RECORD, **data})
    with pytest.raises(TypeError):
        FakeRenderer().render("pdf/base.html", data)


def test_plain_values_pass():
    check_plain(
        {"a": "x", "b": 1, "c": 1.5, "d": None, "e": True, "f": date(2026, 1, 1), "g": [("x", {"h": 2})]}
    )


# --- the fake -----------------------------------------------------------------------------------


def test_the_fake_is_small_and_deterministic():
    fake = FakeRenderer()
    first = fake.render("pdf/base.html", RECORD)
    assert first.startswith(b"%PDF-")
    assert b"pdf/base.html" in first
    assert len(first) < 200
    assert fake.render("pdf/base.html", dict(reversed(list(RECORD.items())))) == first
    assert FakeRenderer().render("pdf/base.html", {**RECORD, "reference": "ROPA-2026-002"}) != first
    assert FakeRenderer().render("pdf/other.html", RECORD) != first
    assert [template for template, _ in fake.rendered] == ["pdf/base.html", "pdf/base.html"]
    assert fake.rendered[0][1] == RECORD


# --- configuration ------------------------------------------------------------------------------


def bare_app(**config) -> Flask:
    app = Flask("pdf_test", static_folder=str(ROOT / "static"))
    app.config.update({"BASE_URL": BASE_URL, **config})
    return app


def test_weasyprint_is_the_default():
    renderer = from_config(bare_app())
    assert isinstance(renderer, WeasyPrintRenderer)
    assert renderer.static_folder == ROOT / "static"
    assert renderer.base_url == BASE_URL + "/"


def test_the_fake_is_chosen_by_config():
    assert isinstance(from_config(bare_app(PDF_RENDERER="fake")), FakeRenderer)


def test_an_unknown_renderer_refuses_to_start():
    with pytest.raises(ConfigurationError, match="PDF_RENDERER"):
        from_config(bare_app(PDF_RENDERER="reportlab"))


def test_the_fake_is_chosen_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSENT_PDF_RENDERER", "fake")
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    with app.app_context():
        renderer = lookup(PdfRenderer)
        assert isinstance(renderer, FakeRenderer)
        assert renderer.render("pdf/base.html", RECORD).startswith(b"%PDF-")


def test_the_test_application_renders_with_weasyprint(app):
    with app.app_context():
        renderer = lookup(PdfRenderer)
    assert isinstance(renderer, WeasyPrintRenderer)
    assert renderer.static_folder == Path(app.static_folder)
