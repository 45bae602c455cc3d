"""Rights fixtures: an organization in Shanghai with a person who has an address, and helpers
to read the mails the outbox holds (their content is sealed: tests unseal it)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from consent_service.mail.envelope import Envelope
from consent_service.mail.models import MailMessage
from consent_service.rights.timeline import Actor
from tests.factories import make_org, make_subject

OFFICER = Actor("officer", "li.officer@shop.example")


@pytest.fixture
def org(db, clock):
    return make_org(clock.now())


@pytest.fixture
def person(org, clock):
    return make_subject(org, clock.now(), "u-1", email="person@example.cn")


def mails(db, org, kind: str | None = None) -> list[Envelope]:
    """The mails queued for ``org`` (of one kind), oldest first, unsealed."""
    query = select(MailMessage).where(MailMessage.org_id == org.id).order_by(MailMessage.id)
    if kind is not None:
        query = query.where(MailMessage.kind == kind)
    return [Envelope.unseal(m.content_encrypted) for m in db.session.scalars(query) if m.content_encrypted]


def mailed_code(db, org) -> str:
    """The code of the newest identity-code mail."""
    text = mails(db, org, "rights.identity_code")[-1].text
    return re.search(r"\b([0-9]{6})\b", text).group(1)
