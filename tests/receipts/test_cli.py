"""The command line: ``flask receipts``: offline verification, key rotation, the JWK Set; its
output and its exit status (1 with a message, never a traceback)."""

from __future__ import annotations

import json
import re

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select

from consent_service.receipts import keys
from consent_service.receipts.models import SigningKey
from tests.cli_support import VALID, assert_clean_failure, assert_ok, json_after_first_line, run


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
