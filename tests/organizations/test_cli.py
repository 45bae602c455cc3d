"""The command line: ``flask orgs``; its output and its exit status (1 with a message, never a
traceback)."""

from __future__ import annotations

import json

from sqlalchemy import select

from consent_service.organizations.models import Organization
from tests.cli_support import assert_clean_failure, assert_ok, run


def test_orgs_create_prints_the_organization(cli, db):
    result = run(cli, "orgs", "create", "acme", "--name", "Acme Trading", "--name-zh", "顶点贸易")
    assert_ok(result)
    assert json.loads(result.output) == {
        "slug": "acme",
        "name_en": "Acme Trading",
        "name_zh": "顶点贸易",
        "timezone": "Asia/Shanghai",
    }
    org = db.session.scalars(select(Organization).where(Organization.slug == "acme")).one()
    assert org.default_regime == "PIPL"


def test_orgs_create_with_options(cli, db):
    result = run(
        cli,
        *("orgs", "create", "euro-shop", "--name", "Euro Shop", "--regime", "GDPR"),
        *("--timezone", "Europe/Berlin", "--pipo-contact", "dpo@euro.example"),
    )
    assert_ok(result)
    assert json.loads(result.output)["name_zh"] == "Euro Shop"  # defaults to --name
    org = db.session.scalars(select(Organization).where(Organization.slug == "euro-shop")).one()
    assert (org.default_regime, org.timezone, org.pipo_contact) == (
        "GDPR",
        "Europe/Berlin",
        "dpo@euro.example",
    )


def test_orgs_create_duplicate_slug_fails_cleanly(cli, db):
    assert_ok(run(cli, "orgs", "create", "acme", "--name", "Acme"))
    result = run(cli, "orgs", "create", "acme", "--name", "Acme Again")
    assert_clean_failure(result, "organization 'acme' exists")
    names = list(db.session.scalars(select(Organization.name_en).where(Organization.slug == "acme")))
    assert names == ["Acme"]


def test_orgs_create_bad_slug_names_the_field(cli, db):
    result = run(cli, "orgs", "create", "Bad Slug!", "--name", "Bad")
    assert_clean_failure(result, "invalid organization")
    assert '"slug"' in result.output
    assert "2-63 lowercase letters, digits and hyphens" in result.output
    assert db.session.scalar(select(Organization.id).where(Organization.slug == "Bad Slug!")) is None


def test_orgs_create_bad_timezone_names_the_field(cli):
    result = run(cli, "orgs", "create", "tz-shop", "--name", "TZ", "--timezone", "Mars/Olympus")
    assert_clean_failure(result, "unknown time zone 'Mars/Olympus'")


def test_orgs_list(cli):
    assert_ok(run(cli, "orgs", "create", "beta", "--name", "Beta Ltd", "--name-zh", "贝塔"))
    assert_ok(run(cli, "orgs", "create", "alpha", "--name", "Alpha Ltd", "--name-zh", "阿尔法"))
    result = run(cli, "orgs", "list")
    assert_ok(result)
    lines = result.output.splitlines()
    assert "alpha\tAlpha Ltd\t阿尔法" in lines
    assert "beta\tBeta Ltd\t贝塔" in lines
    assert lines.index("alpha\tAlpha Ltd\t阿尔法") < lines.index("beta\tBeta Ltd\t贝塔")
