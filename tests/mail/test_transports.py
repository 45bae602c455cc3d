"""The transports: .eml files, a real SMTP conversation (aiosmtpd on 127.0.0.1), the choice made
by configuration, and what each failure is recorded as."""

from __future__ import annotations

import logging
import os
import socket
import stat
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
from flask import Flask

from consent_service import config
from consent_service.config import ConfigurationError
from consent_service.mail.envelope import Envelope, sender_address
from consent_service.mail.service import deliver_due_mail, queue_mail
from consent_service.mail.transports import (
    FileTransport,
    MailNotSent,
    MemoryTransport,
    SMTPTransport,
    from_config,
)
from tests.mail.conftest import PERSON, SMTP_PASSWORD, SMTP_USER, SUBJECT, TEXT, free_port

AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def message(n: int = 1, at: datetime = AT, **fields):
    """A composed acknowledgement, the ``n``-th of its second."""
    envelope = Envelope(PERSON, SUBJECT, TEXT, **fields)
    return envelope.compose(
        sender=sender_address("示例商店 <privacy@shop.example.cn>"),
        message_id=f"<msg_{at:%H%M%S}{n:04d}@shop.example.cn>",
        date=at,
    )


# --- files -------------------------------------------------------------------------------------


def test_file_transport_writes_a_parseable_eml_with_chinese_intact(tmp_path):
    outbox = tmp_path / "outbox"
    FileTransport(outbox).send(message(html="<p>验证码：482913</p>"))

    [path] = list(outbox.iterdir())
    assert path.name == "20261102T020000Z-msg_0200000001.eml"
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert parsed["Subject"] == SUBJECT
    assert parsed["To"] == PERSON
    assert parsed["From"].addresses[0].display_name == "示例商店"
    assert parsed.get_body(("plain",)).get_content() == TEXT
    assert "482913" in parsed.get_body(("html",)).get_content()
    # Personal data in clear: for the service's user alone.
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_names_sort_by_time(tmp_path):
    transport = FileTransport(tmp_path)
    sent = [(AT + timedelta(hours=1), 1), (AT, 2), (AT, 1), (AT + timedelta(days=1), 1)]
    for at, n in sent:
        transport.send(message(n, at))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "20261102T020000Z-msg_0200000001.eml",
        "20261102T020000Z-msg_0200000002.eml",
        "20261102T030000Z-msg_0300000001.eml",
        "20261103T020000Z-msg_0200000001.eml",
    ]


def test_file_transport_leaves_no_partial_file_and_replaces_a_resend(tmp_path):
    transport = FileTransport(tmp_path)
    transport.send(message())
    transport.send(message())
    assert [p.name for p in tmp_path.iterdir()] == ["20261102T020000Z-msg_0200000001.eml"]


def test_a_message_id_cannot_lead_out_of_the_folder(tmp_path):
    odd = message()
    odd.replace_header("Message-ID", "<../../etc/passwd@x.cn>")
    FileTransport(tmp_path / "outbox").send(odd)
    [path] = list((tmp_path / "outbox").iterdir())
    assert path.name == "20261102T020000Z-.._.._etc_passwd.eml"


def test_file_transport_that_cannot_write_raises_mail_not_sent(tmp_path):
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(MailNotSent) as caught:
        FileTransport(blocker).send(message())
    assert caught.value.reason == "write failed"
    assert not caught.value.permanent


def test_memory_transport_keeps_messages():
    transport = MemoryTransport()
    transport.send(first := message())
    assert transport.messages == [first]


# --- SMTP, against a real server on this machine ------------------------------------------------


def test_smtp_delivers_headers_and_utf8_body_intact(app, db, clock, smtp_server):
    queued = queue_mail(
        PERSON,
        SUBJECT,
        TEXT,
        kind="rights.acknowledgement",
        html="<p>张三，您好</p>",
        reply_to="dpo@shop.example.cn",
        now=clock.now(),
    )
    transport = SMTPTransport("127.0.0.1", smtp_server.port, security="none", timeout=5)

    assert deliver_due_mail(clock.now(), transport) == {"sent": 1, "retrying": 0, "failed": 0, "deferred": 0}

    [envelope] = smtp_server.handler.envelopes
    assert envelope.mail_from == "no-reply@consent.localhost"
    assert envelope.rcpt_tos == [PERSON]
    received = smtp_server.handler.received()
    assert received["Subject"] == SUBJECT
    assert received["From"] == "consent_service <no-reply@consent.localhost>"
    assert received["To"] == PERSON
    assert received["Reply-To"] == "dpo@shop.example.cn"
    assert received["Message-ID"] == f"<{queued.public_id}@consent.localhost>"
    assert received["Date"] == "Mon, 02 Nov 2026 02:00:00 +0000"
    assert received["Content-Language"] == "zh-CN"
    body = received.get_body(("plain",))
    assert body.get_content_charset() == "utf-8"
    assert body.get_content() == TEXT
    assert received.get_body(("html",)).get_content().strip() == "<p>张三，您好</p>"
    assert queued.status == "sent" and queued.content_encrypted is None


def test_smtp_logs_in_and_never_shows_the_password(smtp_auth_server, caplog):
    good = SMTPTransport("127.0.0.1", smtp_auth_server.port, SMTP_USER, SMTP_PASSWORD, "none", timeout=5)
    wrong = SMTPTransport("127.0.0.1", smtp_auth_server.port, SMTP_USER, "not-the-password", "none", 5)
    with caplog.at_level(logging.DEBUG):
        good.send(message())
        with pytest.raises(MailNotSent) as caught:
            wrong.send(message())
    assert len(smtp_auth_server.handler.envelopes) == 1
    assert caught.value.reason == "authentication failed (535)"
    for shown in (repr(good), repr(wrong), str(caught.value), caplog.text):
        assert SMTP_PASSWORD not in shown and "not-the-password" not in shown


def test_smtp_without_login_where_one_is_required(smtp_auth_server):
    with pytest.raises(MailNotSent) as caught:
        SMTPTransport("127.0.0.1", smtp_auth_server.port, security="none", timeout=5).send(message())
    assert caught.value.reason == "sender refused (530)"


def test_a_temporary_smtp_refusal_is_retried_with_its_fixed_reason(db, clock, smtp_server):
    smtp_server.handler.rcpt_reply = "451 4.7.1 zhang.san@example.cn greylisted, try again later"
    queued = queue_mail(PERSON, SUBJECT, TEXT, kind="rights.acknowledgement", now=clock.now())
    transport = SMTPTransport("127.0.0.1", smtp_server.port, security="none", timeout=5)

    assert deliver_due_mail(clock.now(), transport) == {"sent": 0, "retrying": 1, "failed": 0, "deferred": 0}
    assert (queued.status, queued.attempts) == ("pending", 1)
    assert queued.last_error == "recipient refused (451)"
    assert queued.next_attempt_at == clock.now() + timedelta(minutes=1)
    assert queued.content_encrypted is not None

    smtp_server.handler.rcpt_reply = None
    clock.advance(minutes=1)
    assert deliver_due_mail(clock.now(), transport)["sent"] == 1
    assert smtp_server.handler.received()["Subject"] == SUBJECT


def test_a_permanent_smtp_refusal_fails_at_once(db, clock, smtp_server):
    smtp_server.handler.rcpt_reply = "550 5.1.1 zhang.san@example.cn: no such user"
    queued = queue_mail(PERSON, SUBJECT, TEXT, kind="rights.acknowledgement", now=clock.now())
    transport = SMTPTransport("127.0.0.1", smtp_server.port, security="none", timeout=5)

    assert deliver_due_mail(clock.now(), transport) == {"sent": 0, "retrying": 0, "failed": 1, "deferred": 0}
    assert (queued.status, queued.last_error) == ("failed", "recipient refused (550)")
    assert queued.content_encrypted is None


def test_starttls_is_required_when_configured(smtp_server):
    with pytest.raises(MailNotSent) as caught:
        SMTPTransport("127.0.0.1", smtp_server.port, security="starttls", timeout=5).send(message())
    assert caught.value.reason == "starttls not offered"
    assert smtp_server.handler.envelopes == [], "nothing goes out in clear"


def test_tls_against_a_plain_server_fails(smtp_server):
    with pytest.raises(MailNotSent) as caught:
        SMTPTransport("127.0.0.1", smtp_server.port, security="ssl", timeout=5).send(message())
    assert caught.value.reason == "tls failed"


def test_nobody_listening():
    with pytest.raises(MailNotSent) as caught:
        SMTPTransport("127.0.0.1", free_port(), security="none", timeout=5).send(message())
    assert (caught.value.reason, caught.value.permanent) == ("connection failed", False)


def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection, never greets
        transport = SMTPTransport("127.0.0.1", silent.getsockname()[1], security="none", timeout=0.2)
        with pytest.raises(MailNotSent) as caught:
            transport.send(message())
    assert caught.value.reason == "timed out"


# --- configuration ------------------------------------------------------------------------------


def configured(tmp_path, **settings) -> Flask:
    """A bare application with the defaults and ``settings`` as its configuration."""
    app = Flask("mail_config_test", instance_path=str(tmp_path / "instance"))
    app.config.from_object(config.Defaults)
    app.config.update(settings)
    return app


def test_the_test_application_sends_to_memory(app):
    from consent_service.mail.transports import MailTransport
    from consent_service.services import lookup

    with app.app_context():
        assert isinstance(lookup(MailTransport), MemoryTransport)


def test_files_in_the_instance_outbox_by_default(tmp_path):
    transport = from_config(configured(tmp_path))
    assert transport == FileTransport(tmp_path / "instance" / "outbox")
    assert not (tmp_path / "instance").exists(), "the folder is made at the first mail"
    elsewhere = from_config(configured(tmp_path, MAIL_OUTBOX_DIR=str(tmp_path / "mail")))
    assert elsewhere == FileTransport(tmp_path / "mail")


def test_smtp_from_settings(tmp_path):
    transport = from_config(
        configured(
            tmp_path,
            MAIL_TRANSPORT="smtp",
            MAIL_SMTP_HOST="smtp.example.cn",
            MAIL_SMTP_USERNAME="mailer",
            MAIL_SMTP_PASSWORD="0123456789",
            MAIL_SMTP_SECURITY="ssl",
            MAIL_SMTP_TIMEOUT_SECONDS=7,
        )
    )
    assert transport == SMTPTransport("smtp.example.cn", None, "mailer", "0123456789", "ssl", 7.0)
    assert "0123456789" not in repr(transport)
    plain = from_config(
        configured(tmp_path, MAIL_TRANSPORT="smtp", MAIL_SMTP_HOST="relay", MAIL_SMTP_PORT=2525)
    )
    assert (plain.port, plain.username, plain.password, plain.security) == (2525, None, None, "starttls")


def test_smtp_credentials_from_the_environment_stay_text(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("CONSENT_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONSENT_MAIL_SMTP_PASSWORD", "000123")
    monkeypatch.setenv("CONSENT_MAIL_SMTP_USERNAME", "10001")
    monkeypatch.setenv("CONSENT_MAIL_SMTP_PORT", "465")
    app = Flask("mail_env_test", instance_path=str(tmp_path), instance_relative_config=True)
    config.load(app, {"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["MAIL_SMTP_PASSWORD"] == "000123"
    assert app.config["MAIL_SMTP_USERNAME"] == "10001"
    assert app.config["MAIL_SMTP_PORT"] == 465


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"MAIL_TRANSPORT": "carrier-pigeon"}, "MAIL_TRANSPORT"),
        ({"MAIL_TRANSPORT": "smtp"}, "MAIL_SMTP_HOST"),
        (
            {"MAIL_TRANSPORT": "smtp", "MAIL_SMTP_HOST": "relay", "MAIL_SMTP_SECURITY": "tls"},
            "MAIL_SMTP_SECURITY",
        ),
        ({"MAIL_FROM": "no-reply"}, "MAIL_FROM"),
        ({"MAIL_FROM": "a@b.cn, c@d.cn"}, "MAIL_FROM"),
    ],
)
def test_settings_that_cannot_work_fail_the_start(tmp_path, settings, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        from_config(configured(tmp_path, **settings))


def test_file_transport_in_production_is_warned_about(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        from_config(configured(tmp_path, ENV="production"))
    assert "not sent" in caplog.text
