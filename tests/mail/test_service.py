"""The outbox: queued with the change, sent once, retried with backoff, then failed; the table
never holds an address or a body in clear, and holds none at all once the mail is out."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from consent_service.errors import InvalidInput
from consent_service.mail.envelope import Envelope
from consent_service.mail.models import MailMessage
from consent_service.mail.service import (
    CONTENT_UNREADABLE,
    TRANSPORT_ERROR,
    deliver_due_mail,
    queue_mail,
    retry_delay,
)
from consent_service.mail.transports import MailNotSent, MemoryTransport
from consent_service.unit_of_work import unit_of_work
from tests.factories import make_org
from tests.mail.conftest import PERSON, SUBJECT, TEXT, FailingTransport

KIND = "rights.acknowledgement"


def queue(clock, to: str = PERSON, **options) -> MailMessage:
    """Queue the usual acknowledgement at the clock's time."""
    return queue_mail(to, SUBJECT, TEXT, kind=options.pop("kind", KIND), now=clock.now(), **options)


def raw_row(db, message: MailMessage) -> dict:
    """The row as the database holds it, column by column."""
    return dict(
        db.session.execute(text("SELECT * FROM mail_message WHERE id = :id"), {"id": message.id})
        .mappings()
        .one()
    )


def test_queued_mail_waits_in_the_outbox(db, clock):
    org = make_org(clock.now())
    message = queue(clock, org=org, reply_to="dpo@shop.example.cn")
    assert message.public_id.startswith("msg_")
    assert (message.org_id, message.kind, message.status, message.attempts) == (org.id, KIND, "pending", 0)
    assert message.next_attempt_at == message.created_at == clock.now()
    assert Envelope.unseal(message.content_encrypted) == Envelope(
        PERSON, SUBJECT, TEXT, None, "zh-CN", "dpo@shop.example.cn"
    )


def test_the_table_holds_no_address_subject_or_body_in_clear(db, clock):
    message = queue(clock, reply_to="dpo@shop.example.cn", html="<p>验证码：482913</p>")
    row = raw_row(db, message)
    stored = " ".join(str(value) for value in row.values())
    for secret in (PERSON, "zhang.san", "dpo@shop.example.cn", SUBJECT, "482913", "张三", "验证码", "zh-CN"):
        assert secret not in stored, secret
    assert row["content_encrypted"].startswith("gAAAA")  # a Fernet token


def test_an_invalid_mail_is_refused_and_nothing_is_written(db, clock):
    with pytest.raises(InvalidInput) as caught:
        queue(clock, to="zhang.san at example.cn")
    assert caught.value.details == {"to": ["is not an email address"]}
    assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 0


def test_mail_queued_in_a_rolled_back_transaction_is_never_sent(db, clock, outbox):
    class Refused(Exception):
        """The change the mail announces was refused."""

    with pytest.raises(Refused), unit_of_work():
        queue(clock)
        raise Refused

    assert deliver_due_mail(clock.now(), outbox) == {"sent": 0, "retrying": 0, "failed": 0, "deferred": 0}
    assert outbox.messages == []
    assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 0


def test_sent_mail_keeps_its_record_and_loses_its_content(db, clock, outbox):
    message = queue(clock)
    clock.advance(seconds=5)

    assert deliver_due_mail(clock.now(), outbox) == {"sent": 1, "retrying": 0, "failed": 0, "deferred": 0}

    [sent] = outbox.messages
    assert sent["To"] == PERSON and sent["Subject"] == SUBJECT
    assert sent["Message-ID"] == f"<{message.public_id}@consent.localhost>"
    assert sent["From"] == "consent_service <no-reply@consent.localhost>"
    assert (message.status, message.attempts, message.sent_at) == ("sent", 1, clock.now())
    assert message.last_attempt_at == clock.now() and message.last_error is None
    assert message.content_encrypted is None
    row = raw_row(db, message)
    assert row["content_encrypted"] is None and row["kind"] == KIND and row["status"] == "sent"


def test_oldest_first_and_at_most_the_limit(db, clock, outbox):
    first, second, third = (queue(clock, to=f"person{n}@example.cn") for n in (1, 2, 3))

    assert deliver_due_mail(clock.now(), outbox, limit=2)["sent"] == 2
    assert [m["To"] for m in outbox.messages] == ["person1@example.cn", "person2@example.cn"]
    assert third.status == "pending"
    assert deliver_due_mail(clock.now(), outbox, limit=2)["sent"] == 1
    assert outbox.messages[-1]["To"] == "person3@example.cn"
    assert {first.status, second.status, third.status} == {"sent"}


def test_mail_queued_for_later_is_not_yet_due(db, clock, outbox):
    message = queue(clock)
    message.next_attempt_at = clock.now() + timedelta(minutes=5)
    assert deliver_due_mail(clock.now(), outbox)["sent"] == 0
    clock.advance(minutes=5)
    assert deliver_due_mail(clock.now(), outbox)["sent"] == 1


def test_retry_delays_double_up_to_an_hour():
    assert [retry_delay(n) for n in range(1, 9)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)
    ]
    assert retry_delay(500) == timedelta(hours=1)


def test_retried_with_backoff_then_failed_after_the_retry_window(app, db, clock, refusing, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_RETRY_HOURS", 1)
    message = queue(clock)
    queued_at = clock.now()

    attempts_at = []
    while message.status == "pending":
        attempts_at.append(clock.now())
        before = message.attempts
        counts = deliver_due_mail(clock.now(), refusing)
        assert message.attempts == before + 1
        if message.status == "pending":
            assert counts == {"sent": 0, "retrying": 1, "failed": 0, "deferred": 0}
            assert message.last_error == "connection failed"
            # Not due a second early.
            clock.at = message.next_attempt_at - timedelta(seconds=1)
            assert deliver_due_mail(clock.now(), refusing) == {
                "sent": 0,
                "retrying": 0,
                "failed": 0,
                "deferred": 0,
            }
            clock.at = message.next_attempt_at
        else:
            assert counts == {"sent": 0, "retrying": 0, "failed": 1, "deferred": 0}

    # 0, 1, 3, 7, 15, 31 minutes after queueing; the next (63) would be past the hour.
    assert [(at - queued_at) / timedelta(minutes=1) for at in attempts_at] == [0, 1, 3, 7, 15, 31]
    assert (message.status, message.attempts, refusing.tries) == ("failed", 6, 6)
    assert message.last_error == "connection failed"
    assert message.last_attempt_at == attempts_at[-1]
    assert message.sent_at is None
    assert message.content_encrypted is None, "nothing will read it again"
    clock.advance(days=1)
    assert deliver_due_mail(clock.now(), refusing) == {"sent": 0, "retrying": 0, "failed": 0, "deferred": 0}


def test_a_later_attempt_that_succeeds(db, clock, refusing, outbox):
    message = queue(clock)
    deliver_due_mail(clock.now(), refusing)
    clock.at = message.next_attempt_at
    assert deliver_due_mail(clock.now(), outbox)["sent"] == 1
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, None)
    assert message.content_encrypted is None


def test_a_permanent_refusal_fails_at_once(db, clock):
    message = queue(clock)
    rejecting = FailingTransport(MailNotSent("recipient refused (550)", permanent=True))
    assert deliver_due_mail(clock.now(), rejecting) == {"sent": 0, "retrying": 0, "failed": 1, "deferred": 0}
    assert (message.status, message.attempts, message.last_error) == ("failed", 1, "recipient refused (550)")
    assert message.content_encrypted is None


def test_a_transport_that_breaks_its_contract_does_not_undo_the_others(db, clock, outbox, caplog):
    class Erratic(MemoryTransport):
        """Raises an unexpected error, quoting the address, for one recipient."""

        def send(self, message):
            """Keep the message, or break on ``broken@example.cn``."""
            if message["To"] == "broken@example.cn":
                raise ValueError("cannot handle broken@example.cn")
            super().send(message)

    broken = queue(clock, to="broken@example.cn")
    fine = queue(clock)
    transport = Erratic()
    with caplog.at_level(logging.DEBUG):
        assert deliver_due_mail(clock.now(), transport) == {
            "sent": 1,
            "retrying": 1,
            "failed": 0,
            "deferred": 0,
        }
    assert fine.status == "sent" and len(transport.messages) == 1
    assert (broken.status, broken.last_error) == ("pending", TRANSPORT_ERROR)
    assert "broken@example.cn" not in caplog.text
    assert "ValueError" in caplog.text


def test_content_sealed_under_another_secret_key_fails_without_sending(app, db, clock, outbox, monkeypatch):
    message = queue(clock)
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-rotated-secret-key")
    assert deliver_due_mail(clock.now(), outbox) == {"sent": 0, "retrying": 0, "failed": 1, "deferred": 0}
    assert (message.status, message.last_error) == ("failed", CONTENT_UNREADABLE)
    assert outbox.messages == []


def test_nothing_personal_is_logged(db, clock, refusing, outbox, caplog):
    queue(clock)
    with caplog.at_level(logging.DEBUG):
        deliver_due_mail(clock.now(), refusing)
        clock.advance(minutes=1)
        deliver_due_mail(clock.now(), outbox)
    assert "connection failed" in caplog.text
    for secret in (PERSON, "482913", SUBJECT):
        assert secret not in caplog.text


def test_a_batch_stops_when_the_relay_is_down(db, clock, refusing, outbox):
    messages = [queue(clock, to=f"person{n}@example.cn") for n in range(5)]

    assert deliver_due_mail(clock.now(), refusing) == {"sent": 0, "retrying": 3, "failed": 0, "deferred": 2}
    assert refusing.tries == 3
    assert [m.attempts for m in messages] == [1, 1, 1, 0, 0]
    assert [m.last_error for m in messages[3:]] == [None, None]
    assert all(m.next_attempt_at == clock.now() for m in messages[3:]), "still due"

    assert deliver_due_mail(clock.now(), outbox) == {"sent": 2, "retrying": 0, "failed": 0, "deferred": 0}
    assert [m["To"] for m in outbox.messages] == ["person3@example.cn", "person4@example.cn"]


def test_a_success_between_failures_keeps_the_batch_going(db, clock):
    class Greylisting(MemoryTransport):
        """Refuses every other recipient for now."""

        def send(self, message):
            """Keep odd recipients, refuse even ones."""
            if int(message["To"].split("@")[0].removeprefix("person")) % 2 == 0:
                raise MailNotSent("recipient refused (451)")
            super().send(message)

    for n in range(8):
        queue(clock, to=f"person{n}@example.cn")
    transport = Greylisting()
    assert deliver_due_mail(clock.now(), transport) == {"sent": 4, "retrying": 4, "failed": 0, "deferred": 0}
