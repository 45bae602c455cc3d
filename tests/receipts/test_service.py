"""Signed consent receipts: Kantara CR v1.1 content, ES256 compact JWS, JWKS and key rotation.

Every grant yields a receipt a person can check alone: the payload validates against the
Kantara v1.1 schema shipped with the package (draft 4), the signature verifies against the
public keys served at ``/.well-known/jwks.json``, and rotating the signing key keeps older
receipts verifiable.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.errors import GuardianRequired
from consent_service.receipts import keys
from consent_service.receipts.keys import InvalidSignature
from consent_service.receipts.models import ConsentReceipt, SigningKey
from consent_service.receipts.service import RECEIPT_TYPE, InvalidReceipt, verify_receipt
from tests.conftest import T0
from tests.factories import (
    act,
    grant,
    make_org,
    make_purpose,
    make_sensitive_purpose,
    make_subject,
    publish_policy,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "consent_service" / "data" / "kantara-consent-receipt-v1_1-schema.json"
COURIER = {"name": "Xunda Express Co., Ltd.", "contact": "privacy@xunda.example", "purpose": "delivery"}
OVERSEAS = {
    "name": "Merlion Care Pte. Ltd.",
    "country": "Singapore",
    "contact": "dpo@merlioncare.example",
    "purpose": "customer support",
    "rights_channel": "write to dpo@merlioncare.example",
}


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode(token: str) -> tuple[dict, dict]:
    """The header and payload of a compact JWS, without checking the signature."""
    header, payload, _signature = token.split(".")
    return json.loads(_b64decode(header)), json.loads(_b64decode(payload))


@pytest.fixture(scope="module")
def kantara() -> jsonschema.Draft4Validator:
    """A draft-4 validator of the Kantara v1.1 schema, read from the file itself."""
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def schema_errors(validator: jsonschema.Draft4Validator, payload: dict) -> list[str]:
    return sorted(f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload))


def only_receipt(result) -> str:
    """The receipt of a one-purpose grant, checking it is keyed by the event id."""
    assert len(result.events) == 1
    assert set(result.receipts) == {result.events[0].id}
    return result.receipts[result.events[0].id]


def served_jwks(client) -> dict:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.is_json
    assert response.headers["Cache-Control"] == "public, max-age=300"
    return response.get_json()


@pytest.fixture
def org(db, clock):
    return make_org(clock.now(), "receipts-shop")


# --- content: the Kantara v1.1 schema and the PIPL extension ---------------------------------


def test_plain_explicit_grant_receipt_matches_kantara_schema(db, org, clock, kantara):
    make_purpose(org, clock.now(), "marketing")
    published = publish_policy(org, clock.now(), "v1").policy
    subject = make_subject(org, clock.now(), "alice")
    result = grant(org, subject, clock.now(), "marketing", method="web", evidence={"locale": "en"})
    token = only_receipt(result)
    event = result.events[0]

    assert token.count(".") == 2
    _, payload = decode(token)
    assert schema_errors(kantara, payload) == []
    assert payload["version"] == "KI-CR-v1.1.0"
    assert payload["jurisdiction"] == "CN"
    assert payload["consentTimestamp"] == int(T0.timestamp())
    assert payload["collectionMethod"] == "web"
    assert payload["language"] == "en"
    assert payload["piiPrincipalId"] == payload["sub"] == "alice"
    assert payload["consentReceiptID"] == payload["jti"]
    assert payload["policyUrl"] == "https://consent.test/o/receipts-shop/policy/v1"
    assert payload["piiControllers"][0]["piiController"] == "示例商店 (Example Shop)"
    assert payload["piiControllers"][0]["email"] == "privacy@shop.example"
    purpose = payload["services"][0]["purposes"][0]
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["thirdPartyDisclosure"] is False
    assert "thirdPartyName" not in purpose
    assert purpose["piiCategory"] == ["1 - Biographical", "2 - Contact"]
    assert payload["sensitive"] is False
    assert payload["spiCat"] == []
    pipl = payload["pipl"]
    assert pipl["consentType"] == "explicit"
    assert pipl["isSeparate"] is False
    assert pipl["guardian"] is None
    assert pipl["purposeCode"] == "marketing"
    assert pipl["legalBasisClause"] == "PIPL 13(1)"
    assert pipl["policyVersion"] == "v1"
    assert pipl["policySha256"] == published.content_sha256
    assert pipl["eventId"] == event.uuid
    assert pipl["eventHash"] == event.hash
    assert pipl["crossBorder"] == []

    row = db_receipt(db, event.id)
    assert row.jws == token
    assert row.receipt_id == payload["consentReceiptID"]


def db_receipt(db, event_id: int) -> ConsentReceipt:
    return db.session.scalars(select(ConsentReceipt).where(ConsentReceipt.event_id == event_id)).one()


def test_bundle_grant_gives_one_receipt_per_event(org, clock, kantara):
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "newsletter")
    subject = make_subject(org, clock.now())
    result = grant(org, subject, clock.now(), "marketing", "newsletter")

    assert set(result.receipts) == {e.id for e in result.events}
    payloads = [decode(result.receipts[e.id])[1] for e in result.events]
    assert [p["pipl"]["purposeCode"] for p in payloads] == ["marketing", "newsletter"]
    assert payloads[0]["consentReceiptID"] != payloads[1]["consentReceiptID"]
    for payload in payloads:
        assert schema_errors(kantara, payload) == []


def test_sensitive_separate_consent_receipt(org, clock, kantara):
    make_sensitive_purpose(org, clock.now(), "face")
    subject = make_subject(org, clock.now())
    token = only_receipt(grant(org, subject, clock.now(), "face", consent_type="separate"))

    _, payload = decode(token)
    assert schema_errors(kantara, payload) == []
    assert payload["sensitive"] is True
    assert payload["spiCat"] == ["biometric identification (生物识别)"]
    assert payload["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    assert payload["services"][0]["purposes"][0]["piiCategory"] == ["3 - Biometric"]
    assert payload["pipl"]["consentType"] == "separate"
    assert payload["pipl"]["isSeparate"] is True
    assert payload["pipl"]["isWritten"] is False


def test_third_party_recipient_receipt(org, clock, kantara):
    make_purpose(org, clock.now(), "courier", consent_requirement="separate", recipients=[COURIER])
    subject = make_subject(org, clock.now())
    token = only_receipt(grant(org, subject, clock.now(), "courier", consent_type="separate"))

    _, payload = decode(token)
    assert schema_errors(kantara, payload) == []
    purpose = payload["services"][0]["purposes"][0]
    assert purpose["thirdPartyDisclosure"] is True
    assert purpose["thirdPartyName"] == COURIER["name"]
    assert payload["pipl"]["recipients"] == [COURIER]
    assert payload["pipl"]["crossBorder"] == []


def test_cross_border_receipt(org, clock, kantara):
    make_purpose(
        org, clock.now(), "support_sg", consent_requirement="separate", cross_border_recipients=[OVERSEAS]
    )
    subject = make_subject(org, clock.now())
    token = only_receipt(grant(org, subject, clock.now(), "support_sg", consent_type="separate"))

    _, payload = decode(token)
    assert schema_errors(kantara, payload) == []
    assert payload["pipl"]["crossBorder"] == [OVERSEAS]
    purpose = payload["services"][0]["purposes"][0]
    assert purpose["thirdPartyDisclosure"] is True
    assert purpose["thirdPartyName"] == OVERSEAS["name"]


def test_guardian_grant_for_child_under_14(org, clock, kantara):
    make_purpose(org, clock.now(), "reading_club")
    child = make_subject(org, clock.now(), "child-1", birth_date="2016-06-01")
    with pytest.raises(GuardianRequired):
        grant(org, child, clock.now(), "reading_club")

    guardian = {"kind": "guardian", "name": "Wang Fang", "relationship": "mother"}
    token = only_receipt(grant(org, child, clock.now(), "reading_club", actor=guardian))

    _, payload = decode(token)
    assert schema_errors(kantara, payload) == []
    assert payload["piiPrincipalId"] == "child-1"
    assert payload["pipl"]["guardian"] == {"name": "Wang Fang", "relationship": "mother"}


def test_validator_rejects_receipts_that_break_the_schema(org, clock, kantara):
    """The schema check above is not vacuous: broken receipts are refused."""
    make_purpose(org, clock.now(), "courier", consent_requirement="separate", recipients=[COURIER])
    subject = make_subject(org, clock.now())
    _, payload = decode(only_receipt(grant(org, subject, clock.now(), "courier", consent_type="separate")))

    without_name = json.loads(json.dumps(payload))
    del without_name["services"][0]["purposes"][0]["thirdPartyName"]
    assert schema_errors(kantara, without_name)
    without_spi = {k: v for k, v in payload.items() if k != "spiCat"}
    assert schema_errors(kantara, without_spi)
    string_time = dict(payload, consentTimestamp=str(payload["consentTimestamp"]))
    assert schema_errors(kantara, string_time)


def test_no_receipt_for_withdrawal_or_refusal(org, clock):
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "newsletter")
    subject = make_subject(org, clock.now())
    grant(org, subject, clock.now(), "marketing")

    withdrawn = act(org, subject, clock.now(), "withdraw", "marketing")
    refused = act(org, subject, clock.now(), "refuse", "newsletter")
    assert len(withdrawn.events) == 1 and withdrawn.receipts == {}
    assert len(refused.events) == 1 and refused.receipts == {}


# --- signature, JWKS, verification -----------------------------------------------------------


def test_header_is_es256_with_a_published_kid(org, clock, client):
    make_purpose(org, clock.now(), "marketing")
    token = only_receipt(grant(org, make_subject(org, clock.now()), clock.now(), "marketing"))

    header, payload = decode(token)
    assert header["alg"] == "ES256"
    assert header["typ"] == "consent-receipt+jwt" == RECEIPT_TYPE
    served = served_jwks(client)
    by_kid = {k["kid"]: k for k in served["keys"]}
    assert header["kid"] in by_kid
    assert by_kid[header["kid"]]["alg"] == "ES256"
    assert json.loads(payload["publicKey"]) == by_kid[header["kid"]]


def test_receipt_verifies_against_served_jwks(org, clock, client):
    make_purpose(org, clock.now(), "marketing")
    token = only_receipt(grant(org, make_subject(org, clock.now(), "bob"), clock.now(), "marketing"))

    claims = verify_receipt(token, served_jwks(client))
    assert claims == decode(token)[1]
    assert claims["piiPrincipalId"] == "bob"


def test_tampered_payload_fails(org, clock, client):
    make_purpose(org, clock.now(), "marketing")
    token = only_receipt(grant(org, make_subject(org, clock.now(), "bob"), clock.now(), "marketing"))
    header, payload, signature = token.split(".")
    claims = json.loads(_b64decode(payload))
    claims["piiPrincipalId"] = claims["sub"] = "mallory"
    forged = ".".join([header, _b64encode(json.dumps(claims).encode()), signature])

    jwks = served_jwks(client)
    verify_receipt(token, jwks)  # the original still verifies
    with pytest.raises(InvalidSignature):
        verify_receipt(forged, jwks)


def test_tampered_signature_fails(org, clock, client):
    make_purpose(org, clock.now(), "marketing")
    token = only_receipt(grant(org, make_subject(org, clock.now()), clock.now(), "marketing"))
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    forged = ".".join([header, payload, signature[:middle] + flipped + signature[middle + 1 :]])

    with pytest.raises(InvalidSignature):
        verify_receipt(forged, served_jwks(client))
    with pytest.raises(InvalidSignature):
        verify_receipt(".".join([header, payload]), served_jwks(client))


def test_receipt_does_not_verify_with_someone_elses_keys(org, clock):
    make_purpose(org, clock.now(), "marketing")
    token = only_receipt(grant(org, make_subject(org, clock.now()), clock.now(), "marketing"))
    kid = decode(token)[0]["kid"]
    stranger = ECKey.generate_key("P-256")
    impostor = dict(stranger.as_dict(private=False), kid=kid, alg="ES256", use="sig")

    with pytest.raises(InvalidSignature):
        verify_receipt(token, {"keys": [impostor]})
    with pytest.raises(InvalidSignature):
        verify_receipt(token, {"keys": []})


def test_signed_token_of_another_type_is_not_a_receipt(org, clock):
    make_purpose(org, clock.now(), "marketing")
    grant(org, make_subject(org, clock.now()), clock.now(), "marketing")
    checkpoint = create_checkpoint(org, clock.now())
    with pytest.raises(InvalidReceipt, match="not a consent receipt"):
        verify_receipt(checkpoint.signature, keys.jwks())

    _, off_schema = keys.sign({"hello": "world"}, clock.now(), typ=RECEIPT_TYPE)
    with pytest.raises(InvalidReceipt, match="Kantara"):
        verify_receipt(off_schema, keys.jwks())


# --- keys: rotation and storage ----------------------------------------------------------------


def test_rotation_keeps_old_receipts_verifiable(db, org, clock, client):
    make_purpose(org, clock.now(), "marketing")
    first = only_receipt(grant(org, make_subject(org, clock.now(), "early"), clock.now(), "marketing"))
    old_kid = decode(first)[0]["kid"]
    jwks_before = served_jwks(client)

    clock.advance(days=30)
    new = keys.create_key(clock.now())
    second = only_receipt(grant(org, make_subject(org, clock.now(), "late"), clock.now(), "marketing"))

    new_kid = decode(second)[0]["kid"]
    assert new_kid == new.kid != old_kid
    assert db_receipt_kids(db) == {old_kid, new_kid}
    jwks_after = served_jwks(client)
    assert [k["kid"] for k in jwks_after["keys"]] == [old_kid, new_kid]
    assert verify_receipt(first, jwks_after)["piiPrincipalId"] == "early"
    assert verify_receipt(second, jwks_after)["piiPrincipalId"] == "late"
    with pytest.raises(InvalidSignature):  # a JWKS saved before the rotation lacks the new key
        verify_receipt(second, jwks_before)

    old = db.session.scalars(select(SigningKey).where(SigningKey.kid == old_kid)).one()
    assert old.is_active is False
    assert old.retired_at == T0 + timedelta(days=30)
    assert keys.active_key(clock.now()).kid == new_kid


def db_receipt_kids(db) -> set[str]:
    return set(db.session.scalars(select(ConsentReceipt.kid)))


def test_private_key_is_stored_encrypted_and_never_published(org, clock, client):
    make_purpose(org, clock.now(), "marketing")
    grant(org, make_subject(org, clock.now()), clock.now(), "marketing")
    row = keys.active_key(clock.now())

    pem = row.private_pem_encrypted
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError, match="encrypted"):
        ECKey.import_key(pem)
    # A wrong password fails to decrypt (now and then the padding happens to check out, and
    # then the decrypted bytes fail to parse: a ValueError either way).
    with pytest.raises(ValueError):
        ECKey.import_key(pem, password=b"not-the-derived-password")
    private = ECKey.import_key(pem, password=keys._key_password())
    private_d = private.as_dict(private=True)["d"]

    served = served_jwks(client)
    entry = next(k for k in served["keys"] if k["kid"] == row.kid)
    assert "d" not in entry
    assert {entry["x"], entry["y"]} == {private.as_dict()["x"], private.as_dict()["y"]}
    assert private_d not in json.dumps(served)


def test_replayed_idempotent_grant_returns_the_same_receipt(db, org, clock):
    make_purpose(org, clock.now(), "marketing")
    subject = make_subject(org, clock.now())
    first = grant(org, subject, clock.now(), "marketing", idempotency_key="signup-42")
    clock.advance(minutes=5)
    again = grant(org, subject, clock.now(), "marketing", idempotency_key="signup-42")

    assert again.is_replay is True
    assert again.receipts == first.receipts
    assert only_receipt(again) == only_receipt(first)
    count = db.session.scalar(
        select(func.count()).select_from(ConsentReceipt).where(ConsentReceipt.org_id == org.id)
    )
    assert count == 1


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"actor": {"kind": "guardian", "name": '王芳 "Fang"', "relationship": "mother"}},
        {"evidence": {"locale": "en", "notice_sha256": "c" * 64, "note": "线下\\表格"}, "method": "paper"},
    ],
)
def test_signed_payload_is_the_canonical_json_of_the_claims(db, org, clock, options):
    """Receipts are written from a template shared by a purpose version (for speed); the signed
    bytes must be exactly the canonical JSON of the claims :func:`build_receipt` describes."""
    from consent_service.canonical import canonical_json
    from consent_service.policies.purposes import get_purpose
    from consent_service.receipts.service import build_receipt

    make_purpose(org, clock.now(), "marketing", consent_validity_days=90)
    published = publish_policy(org, clock.now(), "v1").policy
    subject = make_subject(org, clock.now(), "alice", is_under_14="actor" in options)
    result = grant(org, subject, clock.now(), "marketing", policy_version="v1", **options)
    token = only_receipt(result)
    header, payload = decode(token)
    signed = _b64decode(token.split(".")[1])
    jwk = next(k for k in keys.jwks()["keys"] if k["kid"] == header["kid"])
    claims = build_receipt(
        org,
        "alice",
        result.events[0],
        get_purpose(org, "marketing").current,
        published,
        payload["consentReceiptID"],
        jwk,
    )
    assert signed == canonical_json(claims)
