"""Fixtures of the tamper tests: an organization with two people, and the commands."""

from __future__ import annotations

import pytest

from tests.factories import act, grant, make_org, make_purpose, make_subject


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "analytics")
    return org


@pytest.fixture
def alice(org, clock):
    """A person with a chain of three events: grant both purposes, withdraw one (marketing)."""
    subject = make_subject(org, clock.now(), external_id="alice")
    grant(org, subject, clock.now(), "marketing", "analytics")
    clock.advance(hours=1)
    act(org, subject, clock.now(), "withdraw", "marketing")
    return subject


@pytest.fixture
def bob(org, clock):
    """A second person, whose untouched chain must never be blamed."""
    subject = make_subject(org, clock.now(), external_id="bob")
    grant(org, subject, clock.now(), "analytics")
    return subject


@pytest.fixture
def audit(cli, org):
    """``flask audit SUBCOMMAND ... --org <org>``."""

    def run(*args: str, org_option: bool = True):
        extra = ["--org", org.slug] if org_option else []
        return cli.invoke(args=["audit", *args, *extra])

    return run
