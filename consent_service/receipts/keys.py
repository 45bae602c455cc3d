"""Key management and JWS signing for receipts and checkpoints."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from joserfc.util import json_b64encode, urlsafe_b64encode
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consent_service.canonical import canonical_json
from consent_service.errors import DomainError
from consent_service.extensions import db
from consent_service.memo import remembered
from consent_service.receipts.models import SigningKey

ALGORITHM = "ES256"


class InvalidSignature(DomainError):
    """A receipt or checkpoint signature does not verify."""

    code = "invalid_signature"


def _key_password() -> bytes:
    """Derive the private-key encryption password from the application secret."""
    secret = current_app.config["SECRET_KEY"].encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"consent-signing-key")
    return base64.urlsafe_b64encode(hkdf.derive(secret))


#: The active key (a unique index keeps it to one).
ACTIVE = select(SigningKey).where(SigningKey.is_active)


def create_key(now: datetime) -> SigningKey:
    """Generate a new active ES256 key and retire the previous active one."""
    for old in db.session.scalars(ACTIVE):
        old.is_active = False
        old.retired_at = now
    db.session.flush()  # retire before inserting: at most one key is active
    key = ECKey.generate_key("P-256")
    kid = key.thumbprint()
    public = dict(key.as_dict(private=False), kid=kid, alg=ALGORITHM, use="sig")
    pem = key.as_pem(private=True, password=_key_password()).decode()
    row = SigningKey(kid=kid, alg=ALGORITHM, public_jwk=public, private_pem_encrypted=pem, created_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def active_key(now: datetime) -> SigningKey:
    """Return the active signing key, creating the first one on first use.

    If another process creates it at the same moment, the unique index refuses the second
    and its key is used.
    """
    return remembered("active_signing_key", lambda: db.session.scalars(ACTIVE).first() or _first_key(now))


def _first_key(now: datetime) -> SigningKey:
    try:
        with db.session.begin_nested():
            return create_key(now)
    except IntegrityError:
        return db.session.scalars(ACTIVE).one()


def jwks() -> dict[str, list[dict[str, Any]]]:
    """All public keys, current and retired (RFC 7517 JWK Set)."""
    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.id))
    return {"keys": [row.public_jwk for row in rows]}


def _private_key(row: SigningKey) -> ECKey:
    """The decrypted private key, kept per process: decrypting the PEM (a deliberately slow
    key derivation) on every signature would cost more than the signature itself."""
    cache: dict[tuple[str, str], ECKey] = current_app.extensions.setdefault("signing_keys", {})
    key = (row.kid, row.private_pem_encrypted)
    if key not in cache:
        cache[key] = ECKey.import_key(row.private_pem_encrypted, password=_key_password())
    return cache[key]


def sign(payload: dict[str, Any], now: datetime, typ: str = "JWT") -> tuple[str, str]:
    """Sign ``payload`` as a compact JWS (RFC 7515) with the active key; return ``(kid, token)``."""
    return sign_json(active_key(now), canonical_json(payload), typ)


def sign_json(row: SigningKey, body: bytes, typ: str = "JWT") -> tuple[str, str]:
    """Sign a payload already serialized (canonical JSON) with ``row``; return ``(kid, token)``."""
    header = {"alg": row.alg, "kid": row.kid, "typ": typ}
    return row.kid, _compact_es256(header, body, _private_key(row).private_key)


def _compact_es256(header: dict[str, str], body: bytes, private_key) -> str:
    """The compact ES256 serialization. joserfc verifies (:func:`verify`); signing is done here
    directly because a batch signs a receipt per grant and joserfc's general path costs half as
    much again as the signature itself. The tests verify what this makes with joserfc."""
    signing_input = json_b64encode(header) + b"." + urlsafe_b64encode(body)
    r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return (signing_input + b"." + urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))).decode()


def verify(token: str, key_set: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against a JWK Set; return ``(header, payload)``.

    Raises :class:`InvalidSignature` for a malformed token, an unknown key or a bad signature.
    """
    try:
        keys = KeySet.import_key_set(key_set)
        obj = jws.deserialize_compact(token.strip(), keys, algorithms=[ALGORITHM])
        return obj.headers(), json.loads(obj.payload)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidSignature(f"signature does not verify: {exc}") from exc
