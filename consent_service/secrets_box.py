"""Encryption at rest for secrets the service must use again (webhook signing secrets).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived by HKDF from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet(purpose: bytes) -> Fernet:
    secret = current_app.config["SECRET_KEY"].encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str, purpose: bytes = b"consent-webhook-secret") -> str:
    """Encrypt ``value`` for storage."""
    return _fernet(purpose).encrypt(value.encode()).decode()


def decrypt(token: str, purpose: bytes = b"consent-webhook-secret") -> str:
    """Decrypt a value stored with :func:`encrypt`."""
    return _fernet(purpose).decrypt(token.encode()).decode()
