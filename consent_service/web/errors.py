"""Errors in one place: problem+json for the API, a page with a message for people.

Never a stack trace, never a 500 for bad input: domain errors carry their own status. Log
lines name a request by its route's pattern, not its path (paths carry external ids), and a
database error by its SQLSTATE, constraint and table, never by the driver's message (which
carries the values: ``Key (org_id, external_id)=(1, alice@example.com) already exists``).
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import time
import traceback

import psycopg
from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from consent_service.database import failure_kind
from consent_service.errors import DomainError
from consent_service.extensions import limiter
from consent_service.i18n import page_language
from consent_service.problems import problem

log = logging.getLogger(__name__)

MESSAGES = {
    401: _l(
        "You are not signed in: open your privacy dashboard again from the app "
        "(you are signed out after a while without activity)."
    ),
    404: _l("This page does not exist."),
    405: _l("This action is not allowed here."),
    429: _l("Too many requests from your address; wait a few minutes and try again."),
    500: _l("Something went wrong on our side; it has been logged."),
}
#: Any other status.
OTHER = _l("The request could not be handled.")


#: A form whose CSRF token is missing, wrong or expired (or, over HTTPS, without a same-origin
#: ``Referer``): nothing was done.
CSRF_MESSAGE = _l(
    "This form has expired or could not be confirmed as coming from this site, so nothing was "
    "done. Go back, reload the page and try again."
)


def _is_api() -> bool:
    """Whether the request is answered with problem documents rather than pages."""
    return request.path.startswith(("/api/", "/oauth/"))


def _where() -> str:
    """The request for a log line: its method and route pattern
    (``PUT /api/v1/subjects/<external_id>``), the path only when no route matched."""
    rule = request.url_rule
    return f"{request.method} {rule.rule if rule is not None else request.path}"


#: What may be kept of an SQLite message: the kind of failure and the columns it names
#: (SQLite never puts values in them; anything else is dropped all the same).
_SQLITE_MESSAGE = re.compile(
    r"(?:UNIQUE|NOT NULL|CHECK|FOREIGN KEY|PRIMARY KEY) constraint failed(?:: [\w.]+(?:, [\w.]+)*)?"
    r"|database (?:table )?is locked"
)


def describe_database_error(orig: BaseException | None) -> str:
    """A driver's error as a log line may say it: PostgreSQL's SQLSTATE, constraint, table and
    column (psycopg's ``diag``), or SQLite's error name and message cut to what it names."""
    diag = getattr(orig, "diag", None)
    if diag is not None:
        parts = [f"sqlstate={getattr(orig, 'sqlstate', None) or diag.sqlstate}"]
        for field in ("constraint", "table", "column"):
            value = getattr(diag, f"{field}_name", None)
            if value:
                parts.append(f"{field}={value}")
        return " ".join(parts)
    name = getattr(orig, "sqlite_errorname", None) or type(orig).__name__
    kept = _SQLITE_MESSAGE.match(str(orig))
    return f"{name}: {kept.group(0)}" if kept else name


def error_page(status: int, message: str | None = None):
    """An HTML page with ``status`` and a message in the page's language."""
    text = message or str(MESSAGES.get(status, OTHER))
    return render_template("error.html", lang=page_language(), status=status, message=text), status


def _domain_problem(exc: DomainError):
    """A domain error as a problem document, with its own members and headers."""
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
        """A domain error: its own status, as a problem or a page."""
        if _is_api():
            return _domain_problem(exc)
        return error_page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """An HTTP error (404, 405, 429, ...): a problem with its headers, or a page."""
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
            }.get(status, exc.name.lower().replace(" ", "_"))
            return problem(status, code, exc.description or exc.name, headers=headers)
        return error_page(status)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        """A form post that Flask-WTF refused: a clear 400 page, nothing done."""
        if _is_api():
            return problem(400, "csrf_failed", exc.description)
        return error_page(400, str(CSRF_MESSAGE))

    def database_failure(exc: Exception):
        """A unique value a concurrent request took first (two requests with one idempotency
        key for different people, say) is a 409; a write that waited too long for a lock, a
        deadlock or a serialization failure is a 503 with ``Retry-After``: nothing of this
        request was written (its unit of work rolled back), and it may simply be sent again."""
        kind = failure_kind(exc)
        cause = describe_database_error(getattr(exc, "orig", None) or exc)
        if kind == "unique":
            log.warning("unique violation on %s: %s", _where(), cause)
            message = "a concurrent request wrote the same unique value first; nothing was written"
            if _is_api():
                return problem(409, "conflict", message)
            return error_page(409, message)
        if kind == "busy":
            log.warning("database busy on %s: %s", _where(), cause)
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
        """Anything else: logged, and a 500 without details."""
        if isinstance(exc, DBAPIError | psycopg.Error | sqlite3.Error):
            # The exception's text holds the statement's parameters and the driver's DETAIL:
            # log what failed and where, from the frames alone.
            log.error(
                "unhandled database error on %s: %s (%s)\nTraceback (most recent call last):\n%s",
                _where(),
                type(exc).__name__,
                describe_database_error(getattr(exc, "orig", None) or exc),
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
        else:
            log.exception("unhandled error on %s", _where())
        if _is_api():
            return problem(500, "internal_error", "an unexpected error occurred; it has been logged")
        return error_page(InternalServerError.code)
