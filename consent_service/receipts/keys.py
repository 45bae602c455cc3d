"""Key management and JWS signing for receipts and checkpoints."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.util import json_b64encode, urlsafe_b64decode, urlsafe_b64encode
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


class UnprovenSigningKey(DomainError):
    """The active signing key is not one the service can prove its own: nothing is signed."""

    code = "signing_key_unproven"
    status = 500


class UntrustedKeySet(DomainError):
    """A pinned JWK Set is malformed, or contradicts the service's own keys."""

    code = "invalid_key_set"


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
    private_key = ec.generate_private_key(ec.SECP256R1())
    public = public_jwk(private_key)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_key_password()),
    ).decode()
    # Made here, so known to be this service's own: no need to decrypt it again to sign.
    current_app.extensions.setdefault("signing_keys", {})[pem] = (public, private_key)
    row = SigningKey(
        kid=public["kid"], alg=ALGORITHM, public_jwk=public, private_pem_encrypted=pem, created_at=now
    )
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
    """The public keys this service can prove are its own, current and retired (RFC 7517 JWK
    Set): a row someone added to ``signing_key`` without the secret is never published."""
    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.id))
    return {"keys": [row.public_jwk for row in rows if _proven_private_key(row) is not None]}


def trusted_jwks(pinned: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The keys a signature counts with: this service's proven keys (:func:`jwks`), and the
    public keys of ``pinned``, a JWK Set the operator kept outside the database (e.g. one saved
    before ``SECRET_KEY`` was changed, whose keys no longer decrypt).

    Raises :class:`UntrustedKeySet` when ``pinned`` is not a set of ES256 public keys, or
    names a proven key's id with other key material.
    """
    proven = {jwk["kid"]: jwk for jwk in jwks()["keys"]}
    added: dict[str, dict[str, Any]] = {}
    for jwk in _pinned_keys(pinned) if pinned is not None else []:
        kid = jwk["kid"]
        if kid in proven and (proven[kid]["x"], proven[kid]["y"]) != (jwk["x"], jwk["y"]):
            raise UntrustedKeySet(f"the pinned key {kid} is not this service's key of that id")
        if kid in added and added[kid] != jwk:
            raise UntrustedKeySet(f"the pinned key set holds two different keys of id {kid}")
        if kid not in proven:
            added[kid] = jwk
    return {"keys": [*proven.values(), *added.values()]}


def _pinned_keys(pinned: Any) -> list[dict[str, Any]]:
    """The public members of every key of a pinned JWK Set, each checked to be a P-256 point."""
    if not isinstance(pinned, dict) or not isinstance(pinned.get("keys"), list):
        raise UntrustedKeySet('the pinned key set is not a JWK Set (an object with a "keys" list)')
    out = []
    for jwk in pinned["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            raise UntrustedKeySet("every pinned key needs a key id (kid)")
        try:
            _public_key(jwk)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise UntrustedKeySet(f"the pinned key {jwk['kid']} is not an ES256 (P-256) public key") from exc
        out.append({name: jwk[name] for name in ("kty", "crv", "x", "y", "kid")} | {"alg": ALGORITHM})
    return out


def _public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a JWK (``ValueError`` for anything else, or a point off the curve)."""
    if (jwk.get("kty"), jwk.get("crv"), jwk.get("alg", ALGORITHM)) != ("EC", "P-256", ALGORITHM):
        raise ValueError("not an ES256 key")
    x, y = (int.from_bytes(urlsafe_b64decode(jwk[c].encode()), "big") for c in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def public_jwk(private_key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The public JWK this service publishes for ``private_key``: its RFC 7638 thumbprint is
    its key id."""
    numbers = private_key.public_key().public_numbers()
    members = {
        "crv": "P-256",
        "kty": "EC",
        "x": urlsafe_b64encode(numbers.x.to_bytes(32, "big")).decode(),
        "y": urlsafe_b64encode(numbers.y.to_bytes(32, "big")).decode(),
    }
    kid = urlsafe_b64encode(hashlib.sha256(canonical_json(members)).digest()).decode()
    return members | {"kid": kid, "alg": ALGORITHM, "use": "sig"}


def _open(pem: str) -> tuple[dict[str, Any] | None, ec.EllipticCurvePrivateKey | None]:
    """Decrypt a stored private key with the password derived from the secret; return the public
    JWK it must be published as, and the key (``(None, None)`` when it does not decrypt, is
    not encrypted, or is not a P-256 private key)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=_key_password())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None, None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        return None, None
    return public_jwk(key), key


def _proven_private_key(row: SigningKey) -> ec.EllipticCurvePrivateKey | None:
    """The private key of ``row`` if the row is provably this service's own, else ``None``.

    A row is the service's own when its encrypted private key decrypts with the password derived
    from ``SECRET_KEY`` (which is not in the database) and its public JWK and key id are exactly
    those of that private key: a row made by someone without the secret, one reusing a real
    key's encrypted PEM under another public key, or a real key id given other key material,
    all fail. The decryption (a deliberately slow key derivation) is kept per process, keyed
    by the PEM: a signature costs a dictionary look-up and a comparison of the public JWK.
    """
    cache: dict[str, tuple] = current_app.extensions.setdefault("signing_keys", {})
    pem = row.private_pem_encrypted
    if pem not in cache:
        cache[pem] = _open(pem)
    expected, private_key = cache[pem]
    if private_key is None or (row.alg, row.kid, row.public_jwk) != (ALGORITHM, expected["kid"], expected):
        return None
    return private_key


def sign(payload: dict[str, Any], now: datetime, typ: str = "JWT") -> tuple[str, str]:
    """Sign ``payload`` as a compact JWS (RFC 7515) with the active key; return ``(kid, token)``."""
    return sign_json(active_key(now), canonical_json(payload), typ)


def sign_json(row: SigningKey, body: bytes, typ: str = "JWT") -> tuple[str, str]:
    """Sign a payload already serialized (canonical JSON) with ``row``; return ``(kid, token)``."""
    private_key = _proven_private_key(row)
    if private_key is None:
        raise UnprovenSigningKey(
            f"the signing key {row.kid} is not provably this service's own (its row was changed, or "
            "SECRET_KEY differs from the one it was made with); make a new one: flask receipts rotate-key"
        )
    header = {"alg": row.alg, "kid": row.kid, "typ": typ}
    return row.kid, _compact_es256(header, body, private_key)


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


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class KeyRing:
    """The public keys of a JWK Set by key id, to verify many ES256 compact JWS quickly.

    An audit checks every stored receipt: importing the key set for each one, as :func:`verify`
    does, would cost more than the signature check itself. The checks are those of
    :func:`verify` (one header, ``alg`` ES256, no ``crit``, a known ``kid``, a 64-byte
    signature over the exact signing input), and a test holds the two to the same answers.
    """

    #: Distinct headers remembered (all receipts of one key share one header).
    HEADERS_KEPT = 64

    def __init__(self, key_set: dict[str, Any]) -> None:
        self.keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._headers: dict[bytes, Any] = {}
        for jwk in key_set.get("keys", []):
            try:
                self.keys.setdefault(jwk["kid"], _public_key(jwk))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # not an ES256 key: it verifies nothing

    def __contains__(self, kid: object) -> bool:
        """Whether the ring holds a key of this id."""
        return kid in self.keys

    def verify(self, token: str, typ: str) -> tuple[dict[str, Any], bytes]:
        """Verify a compact JWS of type ``typ``; return its header and its payload's bytes.

        Raises :class:`InvalidSignature`, whose message says why (not a JWS, another type, a key
        that is not in the ring, or a signature that does not verify).
        """
        try:
            head, body, signature = token.encode("ascii").split(b".")
            header = self._header(head)
            payload = urlsafe_b64decode(body)
            raw = urlsafe_b64decode(signature)
        except (ValueError, UnicodeError) as exc:  # binascii.Error is a ValueError
            raise InvalidSignature("signature does not verify: not a compact JWS") from exc
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM or "crit" in header:
            raise InvalidSignature("signature does not verify: not an ES256 signature")
        if header.get("typ") != typ:
            raise InvalidSignature(f"not a {typ} (typ {header.get('typ')!r})")
        key = self.keys.get(header.get("kid"))
        if key is None:
            raise InvalidSignature(
                f"signed with key {header.get('kid')!r}, which is not a proven key of this service "
                "(nor one pinned with --jwks)"
            )
        if len(raw) != 64:
            raise InvalidSignature("signature does not verify: not a 64-byte ES256 signature")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            key.verify(der, head + b"." + body, _ECDSA_SHA256)
        except BadSignature as exc:
            raise InvalidSignature("signature does not verify: the signature is not valid") from exc
        return dict(header), payload

    def _header(self, head: bytes) -> Any:
        """The decoded header of a JWS (remembered: an audit meets the same few thousands of times)."""
        header = self._headers.get(head)
        if header is None:
            header = json.loads(urlsafe_b64decode(head))
            if len(self._headers) < self.HEADERS_KEPT:
                self._headers[head] = header
        return header
