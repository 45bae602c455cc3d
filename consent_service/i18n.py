"""Language choice for the public pages (zh-CN and en)."""

from __future__ import annotations

from flask import request

LANGUAGES = ("zh", "en")


def page_language() -> str:
    """``?lang=`` if given, else the browser's preference, else Chinese."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES, default="zh") or "zh"
