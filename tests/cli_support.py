"""What the command-line tests share: running a command, checking it ended cleanly, and the
seeded demo and a signed receipt as fixtures (a pytest plugin of the root conftest)."""

from __future__ import annotations

import json

import pytest

from tests.factories import grant, make_org, make_purpose, make_subject

VALID = "valid receipt: signature verified, Kantara CR v1.1 schema satisfied"


def run(cli, *args: str, stdin: str | None = None):
    return cli.invoke(args=list(args), input=stdin)


def assert_ok(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None, result.output


def assert_clean_failure(result, message: str) -> None:
    """Exit 1 with ``message`` and no traceback (a ClickException, not a crash)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert message in result.output


def json_after_first_line(output: str):
    return json.loads(output.split("\n", 1)[1])


@pytest.fixture
def seeded(cli):
    result = run(cli, "demo", "seed")
    assert_ok(result)
    return json.loads(result.output)


@pytest.fixture
def receipt(db, clock):
    """A fresh grant's receipt (committed, as a command would leave it)."""
    org = make_org(clock.now(), "cli-shop")
    make_purpose(org, clock.now(), "marketing")
    subject = make_subject(org, clock.now(), "cli-user")
    result = grant(org, subject, clock.now(), "marketing")
    db.session.commit()
    return result.receipts[result.events[0].id]
