"""A signing key counts only when the service proves it its own, or the operator pinned it.

The attack: add a key of one's own to ``signing_key``, turn a withdrawal into a grant, recompute
the chain and the state, and re-sign every checkpoint with that key. Before, ``flask audit
verify`` said OK and the forged key was published in ``/.well-known/jwks.json``. Now the key
is not proven (its private key does not decrypt with the secret, or does not match its public
key), so nothing it signed counts, and it is never published; the grant without a receipt is
named too.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from consent_service.consent.rows import EventRow
from consent_service.policies.purposes import get_purpose
from consent_service.receipts import keys
from consent_service.receipts.models import SigningKey
from consent_service.receipts.service import RECEIPT_TYPE, build_receipt
from tests.audit.tampering import Attacker, events_of, tamper, turn_withdrawal_into_grant
from tests.factories import grant, make_subject

NOT_PROVEN = "which is not a proven key of this service (nor one pinned with --jwks)"


def problems(result) -> list[str]:
    """The problem lines of a ``flask audit verify`` answer."""
    return [line.strip() for line in result.output.splitlines() if line.startswith("  ")]


def served_kids(client) -> list[str]:
    return [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]


@pytest.fixture
def checkpointed(db, clock, org, alice, bob, audit):
    """Two checkpoints; the real key's id."""
    assert audit("checkpoint").exit_code == 0
    clock.advance(minutes=20)
    grant(org, make_subject(org, clock.now(), "carol"), clock.now(), "analytics")
    assert audit("checkpoint").output.strip().endswith("checkpoint #2")
    return db.session.scalars(select(SigningKey.kid)).one()


def test_an_attackers_own_key_re_signing_every_checkpoint_is_found(
    db, client, audit, org, alice, checkpointed
):
    attacker = Attacker()
    attacker.add_key(db)
    withdrawal = events_of(db, alice)[-1]
    turn_withdrawal_into_grant(db, alice, withdrawal)
    attacker.resign_checkpoints(db, org)

    result = audit("verify")

    assert result.exit_code == 1, result.output
    assert problems(result) == [
        f"subject 'alice' (id {alice.id}), event #3 ({withdrawal.uuid}): a grant without its receipt "
        "(receipt deleted, or the event forged)",
        f"checkpoint #1: signed with key {attacker.kid!r}, {NOT_PROVEN}",
        f"checkpoint #2: signed with key {attacker.kid!r}, {NOT_PROVEN}",
    ]
    assert served_kids(client) == [checkpointed]
    assert [k["kid"] for k in keys.jwks()["keys"]] == [checkpointed]


def test_a_receipt_forged_with_the_attackers_key_is_found(db, audit, org, alice, checkpointed):
    attacker = Attacker()
    attacker.add_key(db)
    withdrawal = events_of(db, alice)[-1]
    turn_withdrawal_into_grant(db, alice, withdrawal)
    event = EventRow.from_model(events_of(db, alice)[-1])
    version = get_purpose(org, "marketing").current
    claims = build_receipt(org, "alice", event, version, None, "forged-receipt", attacker.jwk)
    tamper(
        db,
        "INSERT INTO consent_receipt (receipt_id, event_id, org_id, kid, jws, issued_at) "
        "SELECT 'forged-receipt', :event_id, :org_id, :kid, :jws, issued_at FROM consent_receipt LIMIT 1",
        event_id=event.id,
        org_id=org.id,
        kid=attacker.kid,
        jws=attacker.sign(claims, RECEIPT_TYPE),
    )
    attacker.resign_checkpoints(db, org)

    found = problems(audit("verify"))

    assert found[0] == (
        f"subject 'alice' (id {alice.id}), event #3 ({event.uuid}): receipt forged-receipt: "
        f"signed with key {attacker.kid!r}, {NOT_PROVEN}"
    )
    assert len(found) == 3 and all(line.startswith("checkpoint #") for line in found[1:])


def test_a_row_reusing_the_real_encrypted_key_under_another_public_key_is_not_proven(
    db, client, audit, org, alice, checkpointed
):
    """The PEM decrypts with the secret, but it is not the private key of the public JWK."""
    real = db.session.scalars(select(SigningKey)).one()
    attacker = Attacker()
    attacker.add_key(db, pem=real.private_pem_encrypted)
    attacker.resign_checkpoints(db, org)

    assert served_kids(client) == [checkpointed]
    assert problems(audit("verify")) == [
        f"checkpoint #1: signed with key {attacker.kid!r}, {NOT_PROVEN}",
        f"checkpoint #2: signed with key {attacker.kid!r}, {NOT_PROVEN}",
    ]


def test_a_real_key_id_given_other_key_material_counts_no_more(
    db, cli, client, audit, clock, org, alice, checkpointed, tmp_path
):
    """The attacker replaces the real key's public JWK (same kid) with their own and signs as that
    kid. The row is no longer proven: nothing verifies with it and nothing more is signed with it;
    a JWK Set the operator saved earlier (``--jwks``) still proves what the real key signed."""
    saved = tmp_path / "jwks.json"
    saved.write_text(client.get("/.well-known/jwks.json").get_data(as_text=True))
    attacker = Attacker()
    tamper(
        db,
        "UPDATE signing_key SET public_jwk = :jwk WHERE kid = :kid",
        jwk=json.dumps(attacker.jwk | {"kid": checkpointed}),
        kid=checkpointed,
    )
    withdrawal = events_of(db, alice)[-1]
    turn_withdrawal_into_grant(db, alice, withdrawal)
    attacker.kid = checkpointed  # signs under the real key's id
    attacker.resign_checkpoints(db, org)

    assert served_kids(client) == []
    with pytest.raises(keys.UnprovenSigningKey):
        grant(org, make_subject(org, clock.now(), "dave"), clock.now(), "analytics")

    unpinned = audit("verify")
    assert unpinned.exit_code == 1
    assert f"signed with key {checkpointed!r}, {NOT_PROVEN}" in problems(unpinned)[0]

    pinned = cli.invoke(args=["audit", "verify", "--org", org.slug, "--jwks", str(saved)])
    assert pinned.exit_code == 1
    assert problems(pinned) == [
        f"subject 'alice' (id {alice.id}), event #3 ({withdrawal.uuid}): a grant without its receipt "
        "(receipt deleted, or the event forged)",
        "checkpoint #1: signature does not verify: the signature is not valid",
        "checkpoint #2: signature does not verify: the signature is not valid",
    ]


def test_a_pinned_key_set_verifies_an_honest_ledger(cli, client, org, alice, checkpointed, tmp_path):
    saved = tmp_path / "jwks.json"
    saved.write_text(client.get("/.well-known/jwks.json").get_data(as_text=True))
    result = cli.invoke(args=["audit", "verify", "--org", org.slug, "--jwks", str(saved)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{", "is not a JWK Set (JSON)", id="not-json"),
        pytest.param("[]", 'not a JWK Set (an object with a "keys" list)', id="not-a-set"),
        pytest.param('{"keys": [{"kty": "EC"}]}', "every pinned key needs a key id", id="no-kid"),
        pytest.param(
            '{"keys": [{"kid": "k", "kty": "RSA", "n": "AQAB", "e": "AQAB"}]}',
            "the pinned key k is not an ES256 (P-256) public key",
            id="rsa",
        ),
        pytest.param(
            '{"keys": [{"kid": "k", "kty": "EC", "crv": "P-256", "x": 1, "y": 2}]}',
            "the pinned key k is not an ES256 (P-256) public key",
            id="numbers",
        ),
        pytest.param(
            '{"keys": [{"kid": "k", "kty": "EC", "crv": "P-256", "x": "AQ", "y": "Ag"}]}',
            "the pinned key k is not an ES256 (P-256) public key",
            id="off-the-curve",
        ),
    ],
)
def test_a_malformed_pinned_key_set_fails_cleanly(cli, org, alice, checkpointed, tmp_path, content, message):
    path = tmp_path / "jwks.json"
    path.write_text(content)
    result = cli.invoke(args=["audit", "verify", "--org", org.slug, "--jwks", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_pinned_key_contradicting_a_proven_one_fails_cleanly(cli, org, alice, checkpointed, tmp_path):
    stranger = Attacker().jwk | {"kid": checkpointed}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [stranger]}))
    result = cli.invoke(args=["audit", "verify", "--org", org.slug, "--jwks", str(path)])
    assert result.exit_code == 1
    assert f"the pinned key {checkpointed} is not this service's key of that id" in result.output
