"""Errors as pages for people: a message, never a stack trace."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from consent_service.errors import DomainError
from consent_service.i18n import page_language

MESSAGES = {
    404: ("找不到这个页面。", "This page does not exist."),
    405: ("不支持此操作。", "This action is not allowed here."),
    500: ("服务出错了，我们已记录此问题。", "Something went wrong on our side; it has been logged."),
}


def _page(status: int, message: str | None = None):
    lang = page_language()
    zh, en = MESSAGES.get(status, ("请求无法处理。", "The request could not be handled."))
    text = message or (zh if lang == "zh" else en)
    return render_template("error.html", lang=lang, status=status, message=text), status


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return _page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _page(exc.code or 500)
