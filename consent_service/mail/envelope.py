"""What a mail says, checked when it is queued, sealed at rest, and built into a MIME message.

An :class:`Envelope` is the part of a mail that is personal: the recipient, the subject, the
bodies (which may carry an identity code), the language and the Reply-To. It is stored as one
Fernet token (:mod:`consent_service.secrets_box`, a key of its own derived from ``SECRET_KEY``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from consent_service import secrets_box
from consent_service.errors import InvalidInput

#: The key of the mail content is not the key of the webhook secrets (HKDF ``info``).
SEAL_PURPOSE = b"consent-mail-content"
#: A kind names what a mail is for (``rights.acknowledgement``); it is kept after sending.
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
#: BCP 47 tags as the service writes them (``zh-CN``, ``en``).
LANGUAGE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
SUBJECT_MAX = 250
BODY_MAX = 200_000
#: The local part of an address: RFC 5322 dot-atom (quoted local parts and SMTPUTF8 are refused).
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_address(value: object) -> str | None:
    """``value`` as an address to send to (a Chinese domain in its ASCII form), or ``None``
    when it is not one: a bare ``local@domain.tld``, no display name, no line breaks."""
    if not isinstance(value, str):
        return None
    local, at, domain = value.strip().rpartition("@")
    if not at or len(local) > 64 or not _LOCAL_PART.match(local):
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253 or not all(_DOMAIN_LABEL.match(x) for x in labels):
        return None
    address = f"{local}@{ascii_domain}"
    return address if len(address) <= 254 else None


def sender_address(value: object) -> Address | None:
    """The ``MAIL_FROM`` setting (``address`` or ``Name <address>``) as an address, or ``None``."""
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        return None
    header = policy.default.header_factory("From", value)
    if header.defects or len(header.addresses) != 1:
        return None
    address = normalize_address(header.addresses[0].addr_spec)
    if address is None:
        return None
    return Address(display_name=header.addresses[0].display_name, addr_spec=address)


@dataclass(frozen=True)
class Envelope:
    """The personal part of one mail."""

    to: str
    subject: str
    text: str
    html: str | None = None
    language: str = "zh-CN"
    reply_to: str | None = None

    @classmethod
    def checked(
        cls,
        to: str,
        subject: str,
        text: str,
        *,
        html: str | None,
        language: str,
        reply_to: str | None,
        kind: str,
    ) -> Envelope:
        """An envelope from the caller's values; :class:`InvalidInput` names every field that is
        wrong (the address is never quoted back: error messages get logged)."""
        problems: dict[str, list[str]] = {}
        address = normalize_address(to)
        if address is None:
            problems["to"] = ["is not an email address"]
        reply_address = None if reply_to is None else normalize_address(reply_to)
        if reply_to is not None and reply_address is None:
            problems["reply_to"] = ["is not an email address"]
        if not isinstance(subject, str) or not subject.strip():
            problems["subject"] = ["must not be empty"]
        elif len(subject) > SUBJECT_MAX or any(c in subject for c in "\r\n"):
            problems["subject"] = [f"must be one line of at most {SUBJECT_MAX} characters"]
        if not isinstance(text, str) or not text.strip():
            problems["text"] = ["must not be empty"]
        elif len(text) > BODY_MAX:
            problems["text"] = [f"must be at most {BODY_MAX} characters"]
        if html is not None and (not isinstance(html, str) or not html.strip() or len(html) > BODY_MAX):
            problems["html"] = [f"must be text of 1 to {BODY_MAX} characters when given"]
        if not isinstance(language, str) or not LANGUAGE_PATTERN.match(language):
            problems["language"] = ["must be a language tag such as zh-CN or en"]
        if not isinstance(kind, str) or len(kind) > 64 or not KIND_PATTERN.match(kind):
            problems["kind"] = ["must be a dotted lower-case name such as rights.acknowledgement"]
        if problems:
            raise InvalidInput("invalid mail", problems)
        return cls(address, subject.strip(), text, html, language, reply_address)

    def seal(self) -> str:
        """The envelope encrypted for storage."""
        return secrets_box.encrypt(json.dumps(asdict(self), ensure_ascii=False), SEAL_PURPOSE)

    @classmethod
    def unseal(cls, token: str) -> Envelope:
        """An envelope stored with :meth:`seal` (``cryptography.fernet.InvalidToken`` when the
        key has changed since)."""
        return cls(**json.loads(secrets_box.decrypt(token, SEAL_PURPOSE)))

    def compose(self, *, sender: Address, message_id: str, date: datetime) -> EmailMessage:
        """The MIME message: UTF-8 headers (RFC 2047) and bodies (base64), so Chinese arrives
        intact over any relay; text, with the HTML as its alternative when there is one."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        message["Subject"] = self.subject
        message["Date"] = format_datetime(date)
        message["Message-ID"] = message_id
        # RFC 3834: sent by a program, so vacation responders do not answer it.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(self.text, charset="utf-8", cte="base64")
        if self.html:
            message.add_alternative(self.html, subtype="html", charset="utf-8", cte="base64")
        # After the bodies: making the message multipart moves every Content-* header into
        # its first part.
        message["Content-Language"] = self.language
        return message
