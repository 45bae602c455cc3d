"""The secrets of staff accounts: argon2id passwords, TOTP (RFC 6238) and recovery codes.

Passwords are guessable, so they get a slow, salted hash (argon2id, argon2-cffi's defaults);
recovery codes are 80 random bits, so a SHA-256 is enough (see :mod:`consent_service.tokens`).
The TOTP secret must be used again, so it is encrypted (:mod:`consent_service.secrets_box`,
its own label).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from consent_service import secrets_box
from consent_service.tokens import hash_secret

TOTP_LABEL = b"consent-staff-totp-secret"
#: A code is accepted for the current 30-second step and the one either side (clock drift).
TOTP_DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i

_hasher = PasswordHasher()
#: Verified against when no account matches, so that an unknown address costs the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, salted."""
    return _hasher.hash(password)


def password_matches(password: str, stored_hash: str | None) -> bool:
    """Whether ``password`` is the one hashed as ``stored_hash`` (the same work when there is
    no hash)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def seal_totp_secret(secret: str) -> str:
    """The TOTP secret encrypted for storage."""
    return secrets_box.encrypt(secret, TOTP_LABEL)


def open_totp_secret(sealed: str) -> str:
    """The TOTP secret stored with :func:`seal_totp_secret`."""
    return secrets_box.decrypt(sealed, TOTP_LABEL)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app takes."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def totp_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The 30-second step for which ``code`` is right at ``now`` (within the drift), or
    ``None``; a step not later than ``after`` (already used) never matches."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten recovery codes, ``xxxx-xxxx-xxxx-xxxx`` (80 random bits each)."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_code_hash(code: str) -> str:
    """The stored hash of a recovery code, however it was typed (case, spaces, dashes)."""
    return hash_secret("".join(c for c in code.lower() if c.isalnum()))
