"""What the record tests share: a person with a short history."""

from __future__ import annotations

import pytest

from consent_service.receipts.models import ConsentReceipt
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy


@pytest.fixture
def history(db, clock):
    """A person of "shop" with a grant, a withdrawal and a grant again, and their receipts."""
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "marketing")
    publish_policy(org, clock.now(), "v1")
    subject = make_subject(org, clock.now(), "u-1")
    grant(org, subject, clock.now(), "marketing")
    clock.advance(seconds=60)
    act(org, subject, clock.now(), "withdraw", "marketing")
    grant(org, subject, clock.now(), "marketing")
    receipts = db.session.query(ConsentReceipt).order_by(ConsentReceipt.id).all()
    return org, subject, receipts
