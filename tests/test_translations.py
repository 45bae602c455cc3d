"""Every page string is translated: what ``pybabel extract`` finds in the templates and the code
is in the Chinese catalogue, translated, not fuzzy, with the same placeholders; the compiled
catalogue is what the pages use."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "consent_service/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
METHODS = [("consent_service/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]")


def extracted() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_page_string_has_a_chinese_translation():
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalog if m.id}
    missing = sorted(extracted() - set(translated))
    assert missing == [], "run `make translations-update` and translate these"
    for msgid, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, msgid
        for string in strings:  # every plural form keeps the singular's placeholders
            assert _placeholders(msgid) == _placeholders(string), msgid


def _placeholders(text: str) -> list[str]:
    """The placeholders of ``text``: named ones in any order, unnamed ones in order."""
    found = PLACEHOLDER.findall(text)
    return sorted(found) if all("(" in p for p in found) else found


def test_the_pages_use_the_compiled_catalogue(app):
    with app.test_request_context("/"), force_locale("zh_Hans_CN"):
        assert gettext("This page does not exist.") == "找不到这个页面。"
    with app.test_request_context("/"), force_locale("en"):
        assert gettext("This page does not exist.") == "This page does not exist."


def test_the_language_links_keep_the_rest_of_the_address(client, db):
    html = client.get("/dashboard/sign-in?org=nobody-here&lang=en").get_data(as_text=True)
    assert 'href="/dashboard/sign-in?org=nobody-here&amp;lang=zh"' in html
    html = client.get("/?lang=zh").get_data(as_text=True)
    assert 'href="/?lang=en"' in html
