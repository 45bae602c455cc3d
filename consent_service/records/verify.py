"""Verify a record's PDF offline: its attachments, their digests and the signature over them.

Needs only the PDF and a JWK Set (the service's own, or one saved from
``/.well-known/jwks.json``): a record can be checked years later, away from the service.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pypdf
from pypdf.errors import PyPdfError

from consent_service.receipts import keys
from consent_service.records.document import DATA_NAME, RECORD_TYPE, SIGNATURE_NAME, sha256_hex


@dataclass
class Verification:
    """What checking a record found: ``ok``, and each problem as a sentence."""

    ok: bool
    messages: list[str] = field(default_factory=list)
    kind: str | None = None
    org: str | None = None
    record_sha256: str | None = None
    attachments: dict[str, bytes] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: what was verified, or every problem found."""
        if self.ok:
            return f"valid: {self.kind} of {self.org}, data SHA-256 {self.record_sha256}"
        return "invalid: " + "; ".join(self.messages)


def attachments(pdf: bytes) -> dict[str, bytes]:
    """The files embedded in ``pdf`` by name (the first of a name). Raises ``ValueError`` for
    what is not a readable PDF."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        found = reader.attachments
        return {name: contents[0] for name, contents in found.items() if contents}
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a readable PDF: {exc}") from exc


def verify_record(pdf: bytes, jwks: dict[str, Any] | None = None) -> Verification:
    """Check ``pdf`` against ``jwks`` (default: the service's own published keys, which needs
    an application context): ``record.json`` and ``record.jws`` are there, the signature
    verifies with a key of the set, and every attachment it names has the SHA-256 it names."""
    try:
        files = attachments(pdf)
    except ValueError as exc:
        return Verification(False, [str(exc)])
    result = Verification(False, attachments=files)
    if DATA_NAME not in files:
        result.messages.append(f"the PDF has no {DATA_NAME} attachment: it is not a signed record")
        return result
    actual = sha256_hex(files[DATA_NAME])
    result.record_sha256 = actual
    if SIGNATURE_NAME not in files:
        result.messages.append(f"the PDF has no {SIGNATURE_NAME} attachment: its data is not signed")
        return result
    key_set = jwks if jwks is not None else keys.jwks()
    if not isinstance(key_set, dict):
        result.messages.append('the key set is not a JWK Set (an object with a "keys" list)')
        return result
    try:
        token = files[SIGNATURE_NAME].decode("ascii").strip()
        _header, body = keys.KeyRing(key_set).verify(token, RECORD_TYPE)
        payload = json.loads(body)
    except (keys.InvalidSignature, UnicodeDecodeError, ValueError) as exc:
        result.messages.append(f"the signature ({SIGNATURE_NAME}) is not valid: {exc}")
        return result
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), dict):
        result.messages.append(f"the signature ({SIGNATURE_NAME}) does not name the record's files")
        return result
    result.kind, result.org = payload.get("kind"), payload.get("org")
    signed = payload.get("record_sha256")
    if signed != actual:
        result.messages.append(
            f"the data attachment was changed: its SHA-256 is {actual}, the signature covers {signed}"
        )
    for name, digest in sorted(payload["files"].items()):
        if name == DATA_NAME:
            continue
        if name not in files:
            result.messages.append(f"the attachment {name}, which the signature covers, is missing")
        elif sha256_hex(files[name]) != digest:
            result.messages.append(
                f"the attachment {name} was changed: its SHA-256 is {sha256_hex(files[name])}, "
                f"the signature covers {digest}"
            )
    result.ok = not result.messages
    return result
