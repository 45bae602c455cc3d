"""Fixtures of the mail room: the test application's memory transport, emptied for each test,
a transport that fails on purpose, and a local SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from consent_service.mail.transports import MailNotSent, MailTransport, MemoryTransport
from consent_service.services import lookup

PERSON = "zhang.san@example.cn"
SUBJECT = "您的个人信息查阅请求已受理（编号 R-2026-0042）"
TEXT = "张三，您好：\n\n我们已于 2026年11月2日 收到您的请求，将在 15 个工作日内答复。\n验证码：482913\n"


@pytest.fixture
def outbox(app, db) -> MemoryTransport:
    """What the test application provides as its mail transport, emptied."""
    transport = lookup(MailTransport)
    assert isinstance(transport, MemoryTransport)
    transport.messages.clear()
    return transport


class FailingTransport:
    """Raises ``error`` for every message (and counts the tries)."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.tries = 0

    def send(self, message: EmailMessage) -> None:
        """Fail."""
        self.tries += 1
        raise self.error


@pytest.fixture
def refusing() -> FailingTransport:
    """A transport that cannot connect."""
    return FailingTransport(MailNotSent("connection failed"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """An aiosmtpd handler that keeps what it accepts and answers RCPT as told."""

    def __init__(self) -> None:
        self.envelopes: list = []
        #: e.g. ``"451 4.7.1 Try again later"``; ``None`` accepts every recipient.
        self.rcpt_reply: str | None = None
        #: Refuse MAIL FROM until the client has logged in.
        self.require_login = False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        """Accept the sender, once logged in when a login is required."""
        if self.require_login and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        """Accept the recipient, or answer ``rcpt_reply``."""
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        """Keep the message."""
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def received(self, index: int = -1) -> EmailMessage:
        """A received message, parsed."""
        return BytesParser(policy=policy.default).parsebytes(self.envelopes[index].content)


class Server:
    """A running local SMTP server: its port and what it received."""

    def __init__(self, controller: Controller, handler: Recorder) -> None:
        self.controller = controller
        self.handler = handler
        self.port = controller.port


def _serve(require_login: bool = False, **smtp_parameters) -> Iterator[Server]:
    """Run an aiosmtpd server on a free port of 127.0.0.1 until the test ends."""
    handler = Recorder()
    handler.require_login = require_login
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **smtp_parameters)
    controller.start()
    try:
        yield Server(controller, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[Server]:
    """A plain SMTP server on 127.0.0.1 (no TLS, no AUTH)."""
    yield from _serve()


#: The credentials the authenticating server accepts.
SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-Pa55word"


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    """Accept :data:`SMTP_USER` with :data:`SMTP_PASSWORD` and nobody else."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_auth_server() -> Iterator[Server]:
    """An SMTP server that requires a login (offered without TLS: on this machine only)."""
    yield from _serve(require_login=True, authenticator=_authenticator, auth_require_tls=False)
