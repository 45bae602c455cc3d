"""Personal information kept out of log lines: a second line of defence.

The first line is the code: nothing logs a person's fields, a route's pattern is logged
rather than its path, and database errors are logged by SQLSTATE, constraint and table
(:mod:`consent_service.web.errors`). This filter catches what slips through anyway: email
addresses and phone-number-like strings in any record's message, traceback or stack are
replaced by ``[email]`` and ``[phone]``.

A filter on a logger sees only the records logged on that very logger, not those of its
children, so :func:`init_app` puts one on the application's logger, on every logger of the
package (each module's ``logging.getLogger(__name__)``, created when ``create_app`` imported
it) and on the servers' loggers, whose request lines carry paths (an external id may be an
email address).
"""

from __future__ import annotations

import logging
import re

from flask import Flask

#: An email address; the look-behind keeps the search linear on long words without ``@``.
EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")

#: Phone-number-like strings, chosen to leave dates, times, uuids, ids and SQLSTATEs alone.
PHONE = re.compile(
    "|".join(
        (
            # international form: +86 138 0000 0000, +1 (202) 555-0123, 0086 13800000000
            r"(?<![\w+.])(?:\+|00(?=[1-9]))\d(?:[ ().-]{0,2}\d){6,16}(?!\w)",
            # a Chinese mobile number: 13800000000, 138 0000 0000, 138-0000-0000
            r"(?<![\w-])1[3-9]\d(?:[ -]?\d{4}){2}(?![\w-])",
            # a Chinese landline with its area code: 010-12345678, (0755) 1234567
            r"(?<![\w-])(?:0\d{2,3}-|\(0\d{2,3}\) ?)\d{7,8}(?![\w-])",
            # three, three and four digits: 202-555-0123, (202) 555 0123
            r"(?<![\w-])(?:\d{3}|\(\d{3}\)) ?[ .-]?\d{3}[ .-]\d{4}(?![\w-])",
        )
    )
)

#: Loggers outside the package whose lines may carry a path or a header.
SERVER_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")

_formatter = logging.Formatter()


def redact(text: str) -> str:
    """``text`` with email addresses and phone-number-like strings replaced."""
    if "@" in text:
        text = EMAIL.sub("[email]", text)
    return PHONE.sub("[phone]", text)


class PersonalDataFilter(logging.Filter):
    """Redact email addresses and phone numbers from a record's message, traceback and stack.

    A message that changes is stored formatted (``args`` cleared); a traceback that changes
    is stored as redacted text and the exception object dropped, so that no handler can format
    it again with the values in it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drop it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call: the handler reports it, with nothing formatted
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or _formatter.formatException(record.exc_info)
            clean = redact(text)
            if clean != text:
                record.exc_text, record.exc_info = clean, None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _has_filter(logger: logging.Logger) -> bool:
    """Whether ``logger`` already redacts (``create_app`` may run more than once)."""
    return any(isinstance(f, PersonalDataFilter) for f in logger.filters)


def init_app(app: Flask) -> None:
    """Put a :class:`PersonalDataFilter` on ``app.logger``, on every logger below it and on
    :data:`SERVER_LOGGERS`."""
    prefix = app.logger.name + "."
    loggers = [app.logger, *(logging.getLogger(name) for name in SERVER_LOGGERS)]
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith(prefix) and isinstance(logger, logging.Logger):
            loggers.append(logger)
    for logger in loggers:
        if not _has_filter(logger):
            logger.addFilter(PersonalDataFilter())
