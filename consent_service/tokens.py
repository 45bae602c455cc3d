"""Random secrets the service hands out and keeps only as a hash (client secrets, access
tokens, single-use links).

They are 256-bit random values, so a plain SHA-256 is enough to make a stolen table useless (a
slow password hash protects guessable secrets, and these are not guessable), and it keeps a
token check to one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac


def hash_secret(value: str) -> str:
    """SHA-256 of a secret or token, hex (see :mod:`consent_service.oauth.models`)."""
    return hashlib.sha256(value.encode()).hexdigest()


def secret_matches(value: str | None, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return bool(value) and hmac.compare_digest(hash_secret(value), stored_hash)
