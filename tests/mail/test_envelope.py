"""The envelope: address checks, the checks of a queued mail, sealing, and the MIME message."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest
from cryptography.fernet import InvalidToken

from consent_service.errors import InvalidInput
from consent_service.mail.envelope import Envelope, normalize_address, sender_address
from tests.mail.conftest import PERSON, SUBJECT, TEXT

CHECKED = {"html": None, "language": "zh-CN", "reply_to": None, "kind": "rights.acknowledgement"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("zhang.san@example.cn", "zhang.san@example.cn"),
        ("  Li.Si+rights@Mail.Example.COM ", "Li.Si+rights@mail.example.com"),
        ("wang@例子.中国", "wang@xn--fsqu00a.xn--fiqs8s"),
        ("o'brien@sub.example.org", "o'brien@sub.example.org"),
    ],
)
def test_addresses_are_normalized(given, expected):
    assert normalize_address(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "zhang",
        "zhang@",
        "@example.cn",
        "zhang@localhost",
        "zhang san@example.cn",
        "zhang@example..cn",
        "zhang@-example.cn",
        ".zhang@example.cn",
        "Zhang <zhang@example.cn>",
        "a@b.cn, c@d.cn",
        "zhang@example.cn\r\nBcc: everyone@example.cn",
        "张三@example.cn",
        "x" * 65 + "@example.cn",
        "zhang@" + "a" * 64 + ".cn",
        None,
        42,
    ],
)
def test_what_is_not_an_address(given):
    assert normalize_address(given) is None


def test_sender_may_carry_a_name():
    named = sender_address("隐私保护办公室 <privacy@Shop.Example.cn>")
    assert (named.display_name, named.addr_spec) == ("隐私保护办公室", "privacy@shop.example.cn")
    assert sender_address("no-reply@consent.localhost").display_name == ""
    for wrong in ("", "privacy", "a@b.cn, c@d.cn", "Name <a@b.cn> extra", "x@y.cn\nBcc: z@y.cn", None):
        assert sender_address(wrong) is None, wrong


def test_every_wrong_field_is_named_without_quoting_the_address():
    with pytest.raises(InvalidInput) as caught:
        Envelope.checked(
            "not an address",
            "two\nlines",
            " ",
            html="",
            language="chinese please",
            reply_to="nobody",
            kind="Rights Acknowledgement for zhang@example.cn",
        )
    assert set(caught.value.details) == {"to", "subject", "text", "html", "language", "reply_to", "kind"}
    assert "not an address" not in str(caught.value.to_dict())


@pytest.mark.parametrize(
    "kind", ["rights", "Rights.ack", "rights.", "rights.zhang@example.cn", "a." + "b" * 70]
)
def test_a_kind_is_a_dotted_name(kind):
    with pytest.raises(InvalidInput) as caught:
        Envelope.checked(PERSON, SUBJECT, TEXT, **(CHECKED | {"kind": kind}))
    assert list(caught.value.details) == ["kind"]


def test_sealed_and_unsealed(app):
    envelope = Envelope.checked(PERSON, SUBJECT, TEXT, **(CHECKED | {"reply_to": "dpo@shop.example.cn"}))
    with app.app_context():
        token = envelope.seal()
        assert PERSON not in token and "验证码" not in token
        assert Envelope.unseal(token) == envelope


def test_a_seal_is_bound_to_the_secret_key(app, monkeypatch):
    envelope = Envelope.checked(PERSON, SUBJECT, TEXT, **CHECKED)
    with app.app_context():
        token = envelope.seal()
        monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-key")
        with pytest.raises(InvalidToken):
            Envelope.unseal(token)


def test_composed_message_keeps_chinese_intact_over_seven_bits():
    envelope = Envelope.checked(
        PERSON,
        SUBJECT,
        TEXT,
        **(CHECKED | {"html": "<p>验证码：<b>482913</b></p>", "reply_to": "dpo@shop.cn"}),
    )
    message = envelope.compose(
        sender=sender_address("示例商店隐私办公室 <privacy@shop.example.cn>"),
        message_id="<msg_0193@shop.example.cn>",
        date=datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
    )
    wire = message.as_bytes(policy=policy.SMTP)
    assert wire.isascii(), "headers are RFC 2047 words and bodies base64: any relay carries them"
    parsed = BytesParser(policy=policy.default).parsebytes(wire)
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "示例商店隐私办公室"
    assert parsed["To"] == PERSON
    assert parsed["Reply-To"] == "dpo@shop.cn"
    assert parsed["Date"] == "Mon, 02 Nov 2026 02:00:00 +0000"
    assert parsed["Message-ID"] == "<msg_0193@shop.example.cn>"
    assert parsed["Content-Language"] == "zh-CN"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content() == TEXT
    assert parsed.get_body(("html",)).get_content().strip() == "<p>验证码：<b>482913</b></p>"


def test_text_only_message_is_a_single_part():
    message = Envelope.checked(PERSON, "Your request", "Received.", **(CHECKED | {"language": "en"})).compose(
        sender=sender_address("no-reply@consent.localhost"),
        message_id="<m@consent.localhost>",
        date=datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
    )
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert "Reply-To" not in message
