"""Which signing keys count (proven: they decrypt with the secret and match their public key),
and the fast verifier an audit uses, held to joserfc's answers."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.util import urlsafe_b64encode
from sqlalchemy import select

from consent_service.receipts import keys
from consent_service.receipts.models import SigningKey
from tests.audit.tampering import Attacker, tamper


@pytest.fixture
def key(db, clock):
    return keys.active_key(clock.now())


def kids() -> list[str]:
    return [k["kid"] for k in keys.jwks()["keys"]]


def test_the_services_own_keys_are_proven_and_published_as_stored(db, clock, key):
    rotated = keys.create_key(clock.now())
    assert kids() == [key.kid, rotated.kid]
    assert keys.jwks()["keys"] == [key.public_jwk, rotated.public_jwk]
    assert set(key.public_jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}


def test_a_proof_survives_a_new_process(app, db, key):
    """Nothing remembered: the stored PEM is decrypted again with the secret, once."""
    app.extensions["signing_keys"].clear()
    assert kids() == [key.kid]
    cached = dict(app.extensions["signing_keys"])
    assert list(cached) == [key.private_pem_encrypted]
    assert kids() == [key.kid]
    assert app.extensions["signing_keys"] == cached


def test_a_proof_is_decrypted_once_per_process(app, db, key, monkeypatch):
    app.extensions["signing_keys"].clear()
    calls = []
    real = serialization.load_pem_private_key
    monkeypatch.setattr(
        serialization, "load_pem_private_key", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    for _ in range(3):
        keys.jwks()
        keys.trusted_jwks()
    assert len(calls) == 1


@pytest.mark.parametrize(
    "pem_of",
    [
        pytest.param(lambda a: a.own_pem(), id="encrypted-with-another-password"),
        pytest.param(
            lambda a: a.private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            id="not-encrypted",
        ),
        pytest.param(
            lambda a: (
                a.private_key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            ),
            id="a-public-key-only",
        ),
        pytest.param(lambda a: "garbage", id="garbage"),
    ],
)
def test_a_key_the_service_cannot_decrypt_is_not_proven(db, key, pem_of):
    attacker = Attacker()
    attacker.add_key(db, pem=pem_of(attacker))
    assert kids() == [key.kid]


def test_a_real_encrypted_key_under_another_public_key_is_not_proven(db, key):
    Attacker().add_key(db, pem=key.private_pem_encrypted)
    assert kids() == [key.kid]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda jwk: jwk | {"x5u": "https://attacker.example/keys"}, id="extra-member"),
        pytest.param(lambda jwk: jwk | {"kid": "another-kid"}, id="other-kid-in-jwk"),
        pytest.param(lambda jwk: jwk | {"use": "enc"}, id="other-use"),
    ],
)
def test_a_real_key_whose_public_jwk_was_edited_is_not_proven(db, clock, key, change):
    tamper(
        db,
        "UPDATE signing_key SET public_jwk = :jwk WHERE kid = :kid",
        jwk=json.dumps(change(key.public_jwk)),
        kid=key.kid,
    )
    assert kids() == []
    row = db.session.scalars(select(SigningKey)).one()
    with pytest.raises(keys.UnprovenSigningKey, match="flask receipts rotate-key"):
        keys.sign_json(row, b"{}")


def test_a_rotation_after_a_tampered_key_signs_again(db, clock, key):
    tamper(db, "UPDATE signing_key SET kid = 'renamed' WHERE kid = :kid", kid=key.kid)
    fresh = keys.create_key(clock.now())
    assert kids() == [fresh.kid]
    assert keys.sign_json(fresh, b"{}")[0] == fresh.kid


def test_pinned_keys_count_beside_the_proven_ones(db, key):
    stranger = Attacker()
    trusted = keys.trusted_jwks({"keys": [stranger.jwk | {"d": "private part, ignored"}]})
    assert [k["kid"] for k in trusted["keys"]] == [key.kid, stranger.kid]
    assert "d" not in trusted["keys"][1]
    assert keys.trusted_jwks({"keys": [key.public_jwk]})["keys"] == [key.public_jwk]  # the same key, once


# --- the fast verifier ------------------------------------------------------------------------


def _variants(token: str) -> list[str]:
    head, body, signature = token.split(".")
    other = json.dumps({"alg": "ES256", "kid": "unknown", "typ": "JWT"}).encode()
    return [
        token,
        token + "\n",
        ".".join([head, urlsafe_b64encode(b'{"x":1}').decode(), signature]),
        ".".join([urlsafe_b64encode(other).decode(), body, signature]),
        ".".join([urlsafe_b64encode(b'{"alg":"none"}').decode(), body, ""]),
        ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]]),
        ".".join([head, body, signature[:-4]]),
        ".".join([head, body]),
        ".".join([head, body + "!", signature]),
        "not a token",
        "",
    ]


def test_the_key_ring_agrees_with_joserfc(db, clock, key):
    key_set = keys.jwks()
    ring = keys.KeyRing(key_set)
    _, token = keys.sign_json(key, b'{"claim":"value"}', typ="JWT")
    for variant in _variants(token):
        try:
            expected = keys.verify(variant, key_set)
        except keys.InvalidSignature:
            expected = None
        try:
            header, payload = ring.verify(variant.strip(), "JWT")
            got = (header, json.loads(payload))
        except keys.InvalidSignature:
            got = None
        assert got == expected, variant


def test_the_key_ring_checks_the_type_and_names_an_unknown_key(db, key):
    _, token = keys.sign_json(key, b"{}", typ="consent-checkpoint+jws")
    with pytest.raises(keys.InvalidSignature, match="not a JWT"):
        keys.KeyRing(keys.jwks()).verify(token, "JWT")
    with pytest.raises(
        keys.InvalidSignature, match=f"signed with key '{key.kid}', which is not a proven key"
    ):
        keys.KeyRing({"keys": []}).verify(token, "consent-checkpoint+jws")


def test_a_key_ring_ignores_what_is_not_an_es256_key(db, key):
    ring = keys.KeyRing({"keys": [{"kid": "rsa", "kty": "RSA"}, key.public_jwk]})
    assert key.kid in ring and "rsa" not in ring
