"""How mail leaves the service: one small interface and the implementations configuration picks.

``MAIL_TRANSPORT`` chooses: ``file`` (the default: ``.eml`` files in the instance folder's
``outbox/``, for a local run with no SMTP), ``smtp`` (a relay, with STARTTLS or TLS), or
``memory`` (tests). A transport sends one message or raises :class:`MailNotSent` with a short
fixed reason; it never logs a message, an address or a credential.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol

from flask import Flask

from consent_service.config import ConfigurationError
from consent_service.ids import uuid7
from consent_service.mail.envelope import sender_address

log = logging.getLogger(__name__)

TRANSPORTS = ("file", "smtp", "memory")
SECURITY_MODES = ("starttls", "ssl", "none")
#: The usual port of each security mode, used when ``MAIL_SMTP_PORT`` is not set.
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class MailNotSent(Exception):
    """The transport could not hand the message on.

    Not a domain error: nobody asked for anything invalid, an outside system failed. ``reason``
    is short and fixed (``connection failed``, ``recipient refused (550)``): it is stored on the
    outbox row and logged, so it never quotes the server's answer or the exception's text, which
    may hold an address. ``permanent`` says that trying again cannot help (the server refused
    the recipient or the message outright): the mail is then given up at once.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        """A failure for ``reason``, permanent or worth another try."""
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class MailTransport(Protocol):
    """Sends one message; raises :class:`MailNotSent` when it could not."""

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` on, or raise :class:`MailNotSent`."""
        ...


class MemoryTransport:
    """Keeps every message in :attr:`messages` (tests, and a demo without mail)."""

    def __init__(self) -> None:
        """An empty transport."""
        self.messages: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        """Keep ``message``."""
        self.messages.append(message)


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class FileTransport:
    """Writes each message as an ``.eml`` file into ``directory``.

    Names start with the message's ``Date`` in UTC and go on with its Message-ID (time-ordered
    itself), so a listing sorts by time: ``20261102T020000Z-msg_0193...eml``. Each file is
    written to a hidden temporary name, flushed to disk and renamed, so a reader never sees half
    a message; sending the same message again replaces its file. The files hold the mail in
    clear: the folder and files are readable by the service's user alone.
    """

    directory: Path

    def send(self, message: EmailMessage) -> None:
        """Write ``message`` into the folder (:class:`MailNotSent` ``write failed`` if it cannot)."""
        directory = Path(self.directory)
        temporary = None
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")  # mode 0600
            with os.fdopen(handle, "wb") as file:
                file.write(message.as_bytes(policy=policy.SMTP))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, directory / self.file_name(message))
        except OSError:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            raise MailNotSent("write failed") from None

    @staticmethod
    def file_name(message: EmailMessage) -> str:
        """``<Date in UTC>-<Message-ID without its brackets and domain>.eml``."""
        try:
            sent = parsedate_to_datetime(str(message["Date"])).astimezone(UTC)
        except (TypeError, ValueError):
            sent = datetime.now(UTC)
        local = str(message["Message-ID"] or "").strip("<> ").split("@", 1)[0]
        local = _UNSAFE_IN_NAME.sub("_", local)[:80] or uuid7()
        return f"{sent:%Y%m%dT%H%M%SZ}-{local}.eml"


@dataclass(frozen=True)
class SMTPTransport:
    """Sends through an SMTP relay, one connection per message.

    ``security``: ``starttls`` (upgrade on the submission port; refuse to go on in clear when
    the server does not offer it), ``ssl`` (TLS from the start, port 465) or ``none`` (a relay
    on this machine). Certificates are checked against the system's trust store. The password
    is not part of the transport's ``repr`` and nothing here logs it.
    """

    host: str
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        """Refuse settings that could never send (house style 3: at start-up)."""
        if self.security not in SECURITY_MODES:
            raise ConfigurationError(
                f"MAIL_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}"
            )
        if not self.host:
            raise ConfigurationError("MAIL_SMTP_HOST is needed when MAIL_TRANSPORT is smtp")

    def send(self, message: EmailMessage) -> None:
        """Connect, secure, log in when a username is set, send, and say goodbye."""
        stage = "connect"
        try:
            connection = self._connect()
            try:
                if self.security == "starttls":
                    stage = "starttls"
                    connection.starttls(context=ssl.create_default_context())
                if self.username:
                    stage = "login"
                    connection.login(str(self.username), str(self.password or ""))
                stage = "send"
                connection.send_message(message)
            finally:
                # Sent is sent: a connection that breaks on QUIT does not make the mail unsent.
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    connection.quit()
                connection.close()
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            raise _not_sent(exc, stage) from None

    def _connect(self) -> smtplib.SMTP:
        """An open connection, in TLS from the start for ``ssl``."""
        port = self.port or DEFAULT_PORTS[self.security]
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, port, timeout=self.timeout)


def _code(exc: smtplib.SMTPException) -> int | None:
    """The SMTP reply code an exception carries (the first refused recipient's, for a refusal)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return codes[0] if codes else None
    return getattr(exc, "smtp_code", None)


def _not_sent(exc: BaseException, stage: str) -> MailNotSent:
    """A fixed reason for what went wrong at ``stage``; 5xx refusals of the recipient or of the
    message itself are permanent, everything else is worth another try."""
    if isinstance(exc, smtplib.SMTPException):
        code = _code(exc)
        suffix = f" ({code})" if isinstance(code, int) else ""
        permanent = isinstance(code, int) and 500 <= code < 600
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return MailNotSent("recipient refused" + suffix, permanent=permanent)
        if isinstance(exc, smtplib.SMTPDataError):
            return MailNotSent("message refused" + suffix, permanent=permanent)
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return MailNotSent("sender refused" + suffix)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return MailNotSent("authentication failed" + suffix)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return MailNotSent(
                {"starttls": "starttls not offered", "login": "authentication not offered"}.get(
                    stage, "not supported by the server"
                )
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            # smtplib reports a reply that never came as a disconnection; the timeout is its cause.
            return MailNotSent("timed out" if isinstance(exc.__context__, TimeoutError) else "disconnected")
        return MailNotSent("server error" + suffix)
    if isinstance(exc, UnicodeError):
        # smtplib speaks ASCII: a user name or password it cannot encode, or an address that
        # would need SMTPUTF8.
        return MailNotSent("credentials not encodable" if stage == "login" else "not encodable")
    if isinstance(exc, ssl.SSLError):
        return MailNotSent("tls failed")
    if isinstance(exc, TimeoutError):
        return MailNotSent("timed out")
    return MailNotSent("connection failed")


def from_config(app: Flask) -> MailTransport:
    """The transport ``MAIL_TRANSPORT`` names, built from the ``MAIL_*`` settings; a setting
    that cannot work fails the start (house style 3), not the first mail."""
    config = app.config
    if sender_address(config["MAIL_FROM"]) is None:
        raise ConfigurationError(
            "MAIL_FROM must be an address, optionally with a name (Name <address>), "
            f"not {config['MAIL_FROM']!r}"
        )
    kind = config["MAIL_TRANSPORT"]
    if kind == "memory":
        return MemoryTransport()
    if kind == "file":
        directory = Path(config["MAIL_OUTBOX_DIR"] or Path(app.instance_path) / "outbox")
        if config["ENV"] == "production" and not config.get("TESTING"):
            log.warning("MAIL_TRANSPORT is file: mail is written to %s, not sent", directory)
        return FileTransport(directory)
    if kind == "smtp":
        return SMTPTransport(
            host=config["MAIL_SMTP_HOST"],
            port=config["MAIL_SMTP_PORT"] or None,
            username=config["MAIL_SMTP_USERNAME"] or None,
            password=config["MAIL_SMTP_PASSWORD"] or None,
            security=config["MAIL_SMTP_SECURITY"],
            timeout=float(config["MAIL_SMTP_TIMEOUT_SECONDS"]),
        )
    raise ConfigurationError(f"MAIL_TRANSPORT must be one of {', '.join(TRANSPORTS)}, not {kind!r}")
