"""Errors in one place: problem+json for the API, a page with a message for people.

Never a stack trace, never a 500 for bad input: domain errors carry their own status.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time

import psycopg
from flask import Flask, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from consent_service.database import failure_kind
from consent_service.errors import DomainError
from consent_service.extensions import limiter
from consent_service.i18n import page_language
from consent_service.problems import problem

log = logging.getLogger(__name__)

MESSAGES = {
    404: ("找不到这个页面。", "This page does not exist."),
    405: ("不支持此操作。", "This action is not allowed here."),
    500: ("服务出错了，我们已记录此问题。", "Something went wrong on our side; it has been logged."),
}


def _is_api() -> bool:
    return request.path.startswith(("/api/", "/oauth/"))


def error_page(status: int, message: str | None = None):
    lang = page_language()
    zh, en = MESSAGES.get(status, ("请求无法处理。", "The request could not be handled."))
    text = message or (zh if lang == "zh" else en)
    return render_template("error.html", lang=lang, status=status, message=text), status


def _domain_problem(exc: DomainError):
    return problem(exc.status, exc.code, exc.message, headers=exc.problem_headers(), **exc.problem_members())


def _seconds_until_reset() -> int:
    """Seconds until the exhausted rate-limit window resets (Flask-Limiter keeps wall time)."""
    current = limiter.current_limit
    if current is None:
        return 60
    window = current.limit.get_expiry()
    return max(1, min(window, math.ceil(current.reset_at - time.time())))


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if _is_api():
            return _domain_problem(exc)
        return error_page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if _is_api():
            headers = {}
            if status == 429:
                headers["Retry-After"] = str(_seconds_until_reset())
            if status == 405 and exc.valid_methods:
                headers["Allow"] = ", ".join(exc.valid_methods)
            code = {
                429: "rate_limited",
                404: "not_found",
                405: "method_not_allowed",
                413: "payload_too_large",
            }.get(
                status, exc.name.lower().replace(" ", "_")
            )
            return problem(status, code, exc.description or exc.name, headers=headers)
        return error_page(status)

    def database_failure(exc: Exception):
        """A unique value a concurrent request took first (two requests with one idempotency
        key for different people, say) is a 409; a write that waited too long for a lock, a
        deadlock or a serialization failure is a 503 with ``Retry-After``: nothing of this
        request was written (its unit of work rolled back), and it may simply be sent again."""
        kind = failure_kind(exc)
        if kind == "unique":
            log.warning("unique violation on %s %s: %s", request.method, request.path, exc)
            message = "a concurrent request wrote the same unique value first; nothing was written"
            if _is_api():
                return problem(409, "conflict", message)
            return error_page(409, message)
        if kind == "busy":
            log.warning("database busy on %s %s: %s", request.method, request.path, exc)
            if _is_api():
                return problem(
                    503,
                    "database_busy",
                    "the database is busy; nothing was written, retry shortly",
                    headers={"Retry-After": "1"},
                )
            return error_page(503, "服务繁忙，请稍后再试。 / The service is busy; please try again shortly.")
        return unexpected(exc)

    # SQLAlchemy's wrapped errors, and the drivers' own (statements run on the driver's cursor).
    for database_error in (DBAPIError, psycopg.Error, sqlite3.Error):
        app.register_error_handler(database_error, database_failure)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _is_api():
            return problem(500, "internal_error", "an unexpected error occurred; it has been logged")
        return error_page(InternalServerError.code)
