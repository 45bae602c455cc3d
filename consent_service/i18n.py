"""Language choice for the public pages (zh-CN and en)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import has_request_context, request

LANGUAGES = ("zh", "en")


def page_language() -> str:
    """``?lang=`` if given, else the browser's preference, else Chinese."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES, default="zh") or "zh"


#: Babel's locale for each page language.
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en"}


def babel_locale() -> str:
    """Flask-Babel's locale selector: the page language of :func:`page_language` (Chinese
    outside a request, where a caller that knows the language uses ``force_locale``)."""
    return BABEL_LOCALES[page_language() if has_request_context() else "zh"]


def babel_timezone() -> str:
    """Flask-Babel's time-zone selector: times are shown in China's zone unless a page knows
    its organization's (and passes it explicitly)."""
    return "Asia/Shanghai"


def language_url(language: str) -> str:
    """This page in ``language``: the same path and query, ``lang`` replaced (a sign-in page
    keeps its ``org``, a request form its ``type``)."""
    query = {key: value for key, value in request.args.items() if key != "lang"}
    return request.path + "?" + urlencode({**query, "lang": language})


def local_datetime(value: datetime, timezone: str, language: str) -> str:
    """A time as the page's reader writes it, in ``timezone`` (the organization's)."""
    return format_datetime(value, "medium", tzinfo=ZoneInfo(timezone), locale=BABEL_LOCALES[language])
