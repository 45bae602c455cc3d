"""The command-line interface: every ``flask`` command, its output and its exit status.

Commands commit; the ``db`` fixture turns each commit into a savepoint release, so all of
it is rolled back after the test. A failing command must end with its message and exit
status 1 (a ``SystemExit`` in the runner), never with a traceback.
"""

from __future__ import annotations

import json
import re

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select, update

from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.consent.subjects import is_minor
from consent_service.organizations import service as organizations
from consent_service.organizations.models import Organization
from consent_service.policies import service as policies
from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.receipts import keys
from consent_service.receipts.models import SigningKey
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


# --- orgs ---------------------------------------------------------------------------------------


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


# --- demo -------------------------------------------------------------------------------------


def test_demo_seed_creates_the_demo_organization(db, clock, seeded):
    assert seeded == {"organization": True, "purposes": 6, "policy": True, "events": 7, "checkpoint": 1}
    org = organizations.get_organization("demo")
    codes = set(db.session.scalars(select(Purpose.code).where(Purpose.org_id == org.id)))
    assert codes == {
        "account",
        "order_fulfilment",
        "marketing_sms",
        "recommendations",
        "face_verification",
        "support_overseas",
    }
    policy = policies.get_policy(org, "2026.1")
    assert policy.status == "published"
    assert {v.purpose.code for v in policy.purpose_versions} == codes
    subjects = {s.external_id: s for s in db.session.scalars(select(Subject).where(Subject.org_id == org.id))}
    assert set(subjects) == {"u-1001", "u-1002", "u-1003", "u-1004"}
    minors = [eid for eid, s in subjects.items() if is_minor(s, org, clock.now())]
    assert minors == ["u-1003"]
    state = db.session.scalars(
        select(ConsentState).where(ConsentState.subject_id == subjects["u-1003"].id)
    ).one()
    assert (state.status, state.is_guardian_act) == ("granted", True)


def test_demo_seed_twice_creates_nothing_new(cli, db, seeded):
    result = run(cli, "demo", "seed")
    assert_ok(result)
    assert json.loads(result.output) == {
        "organization": False,
        "purposes": 0,
        "policy": False,
        "events": 0,
        "checkpoint": None,
    }
    assert db.session.scalar(select(Organization.id).where(Organization.slug == "demo")) is not None
    org = organizations.get_organization("demo")
    events = list(db.session.scalars(select(ConsentEvent.id).where(ConsentEvent.org_id == org.id)))
    assert len(events) == seeded["events"] == 7
    assert len(list(db.session.scalars(select(PolicyVersion.id).where(PolicyVersion.org_id == org.id)))) == 1


# --- audit ------------------------------------------------------------------------------------


def test_audit_verify_ok_after_seed(cli, seeded):
    result = run(cli, "audit", "verify")
    assert_ok(result)
    assert "demo: OK — 4 chains, 7 events, 1 checkpoints" in result.output


def test_audit_verify_finds_an_edited_event(cli, db, seeded):
    org = organizations.get_organization("demo")
    first = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.org_id == org.id).order_by(ConsentEvent.id)
    ).first()
    db.session.execute(update(ConsentEvent).where(ConsentEvent.id == first.id).values(method="phone"))
    db.session.commit()

    result = run(cli, "audit", "verify", "--org", "demo")
    assert result.exit_code == 1
    assert "demo: BROKEN" in result.output
    assert "content does not match its hash (event edited)" in result.output
    assert "Traceback" not in result.output


def test_audit_verify_unknown_org(cli):
    assert_clean_failure(run(cli, "audit", "verify", "--org", "nowhere"), "no organization 'nowhere'")


def test_audit_checkpoint(cli, db, clock, seeded):
    result = run(cli, "audit", "checkpoint")
    assert_ok(result)
    assert "demo: unchanged since the last checkpoint" in result.output

    org = organizations.get_organization("demo")
    subject = make_subject(org, clock.now(), "u-2000")
    grant(org, subject, clock.now(), "recommendations")
    db.session.commit()
    clock.advance(minutes=1)
    result = run(cli, "audit", "checkpoint", "--org", "demo")
    assert_ok(result)
    assert result.output.strip() == "demo: checkpoint #2"
    verified = run(cli, "audit", "verify")
    assert_ok(verified)
    assert "demo: OK — 5 chains, 8 events, 2 checkpoints" in verified.output


# --- receipts ---------------------------------------------------------------------------------


def test_receipts_verify_file(cli, receipt, tmp_path):
    path = tmp_path / "receipt.jws"
    path.write_text(receipt + "\n")
    result = run(cli, "receipts", "verify", str(path))
    assert_ok(result)
    assert result.output.splitlines()[0] == VALID
    summary = json_after_first_line(result.output)
    assert summary["subject"] == "cli-user"
    assert summary["purpose"] == "marketing"
    assert summary["consent_type"] == "explicit"
    assert summary["controller"] == "示例商店 (Example Shop)"
    assert summary["policy"] == "https://consent.test/o/cli-shop/policy"


def test_receipts_verify_from_standard_input(cli, receipt):
    result = run(cli, "receipts", "verify", "-", stdin=receipt)
    assert_ok(result)
    assert VALID in result.output


def test_receipts_verify_with_saved_jwks(cli, receipt, tmp_path):
    saved = run(cli, "receipts", "jwks")
    assert_ok(saved)
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text(saved.output)
    (tmp_path / "receipt.jws").write_text(receipt)

    result = run(cli, "receipts", "verify", str(tmp_path / "receipt.jws"), "--jwks", str(jwks_path))
    assert_ok(result)
    assert VALID in result.output

    # The option is really used: a key set without the signing key refuses the receipt.
    kid = json.loads(saved.output)["keys"][0]["kid"]
    stranger = dict(ECKey.generate_key("P-256").as_dict(private=False), kid=kid, alg="ES256")
    other = tmp_path / "other-jwks.json"
    other.write_text(json.dumps({"keys": [stranger]}))
    refused = run(cli, "receipts", "verify", str(tmp_path / "receipt.jws"), "--jwks", str(other))
    assert_clean_failure(refused, "signature does not verify")


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda token: "this is not a receipt", id="garbage"),
        pytest.param(lambda token: token[: len(token) // 2], id="truncated"),
        pytest.param(lambda token: token.replace(".", ".e30", 1), id="payload-altered"),
        pytest.param(lambda token: "", id="empty"),
    ],
)
def test_receipts_verify_corrupted_file_fails_cleanly(cli, receipt, tmp_path, corrupt):
    path = tmp_path / "receipt.jws"
    path.write_text(corrupt(receipt))
    result = run(cli, "receipts", "verify", str(path))
    assert_clean_failure(result, "Error: signature does not verify")
    assert VALID not in result.output


def test_receipts_verify_binary_file_fails_cleanly(cli, receipt, tmp_path):
    path = tmp_path / "receipt.jws"
    path.write_bytes(b"\xff\xfe\x00" + receipt.encode()[:40] + b"\x80")
    result = run(cli, "receipts", "verify", str(path))
    assert_clean_failure(result, "Error: signature does not verify")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param('{"keys": [', "is not a JWK Set (JSON)", id="truncated-json"),
        pytest.param(b"\xff\xfe{}", "is not a JWK Set (JSON)", id="not-utf8"),
        pytest.param("[]", "signature does not verify", id="not-a-key-set"),
    ],
)
def test_receipts_verify_corrupted_jwks_file_fails_cleanly(cli, receipt, tmp_path, content, message):
    (tmp_path / "receipt.jws").write_text(receipt)
    jwks_path = tmp_path / "jwks.json"
    if isinstance(content, bytes):
        jwks_path.write_bytes(content)
    else:
        jwks_path.write_text(content)
    result = run(cli, "receipts", "verify", str(tmp_path / "receipt.jws"), "--jwks", str(jwks_path))
    assert_clean_failure(result, message)
    assert VALID not in result.output


def test_receipts_verify_missing_file(cli, tmp_path):
    result = run(cli, "receipts", "verify", str(tmp_path / "absent.jws"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "absent.jws" in result.output


def test_receipts_rotate_key(cli, db, clock, receipt, tmp_path):
    old_kid = keys.active_key(clock.now()).kid
    result = run(cli, "receipts", "rotate-key")
    assert_ok(result)
    match = re.fullmatch(r"new signing key (\S+) \(ES256\)\n", result.output)
    assert match, result.output
    new_kid = match.group(1)
    assert new_kid != old_kid
    rows = list(db.session.scalars(select(SigningKey).order_by(SigningKey.id)))
    assert [(r.kid, r.is_active) for r in rows] == [(old_kid, False), (new_kid, True)]

    listed = json.loads(run(cli, "receipts", "jwks").output)
    assert [k["kid"] for k in listed["keys"]] == [old_kid, new_kid]
    (tmp_path / "receipt.jws").write_text(receipt)
    assert_ok(run(cli, "receipts", "verify", str(tmp_path / "receipt.jws")))


def test_receipts_jwks(cli, receipt):
    result = run(cli, "receipts", "jwks")
    assert_ok(result)
    listed = json.loads(result.output)
    assert listed == keys.jwks()
    assert len(listed["keys"]) == 1
    (key,) = listed["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key


# --- scheduler --------------------------------------------------------------------------------


def test_scheduler_run_once(cli, db, clock):
    org = make_org(clock.now(), "sched-shop")
    make_purpose(org, clock.now(), "promo", consent_validity_days=30)
    subject = make_subject(org, clock.now(), "sched-user")
    grant(org, subject, clock.now(), "promo")
    db.session.commit()

    clock.advance(days=31)
    result = run(cli, "scheduler", "run", "--once")
    assert_ok(result)
    report = json.loads(result.output)
    assert report["expired"]["sched-shop"] == 1
    assert report["checkpoints"]["sched-shop"] == 1

    db.session.expire_all()
    state = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id)).one()
    assert state.status == "expired"

    again = json.loads(run(cli, "scheduler", "run", "--once").output)
    assert again["expired"]["sched-shop"] == 0
    assert again["checkpoints"]["sched-shop"] is None
