"""Verify a record's PDF offline: its attachments, their digests and the signature over them.

Needs only the PDF and a JWK Set (the service's own, or one saved from
``/.well-known/jwks.json``): a record can be checked years later, away from the service.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, BinaryIO

import pypdf
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject, StreamObject

from consent_service.receipts import keys
from consent_service.records.document import DATA_NAME, RECORD_TYPE, SIGNATURE_NAME, sha256_hex

#: A record to check: its bytes, or the path of its file.
Source = bytes | str | PathLike
#: Attachments up to this size are kept (``Verification.attachments``); larger ones are only hashed.
KEPT_BYTES = 16 * 1024 * 1024
#: Compressed bytes inflated at a time.
PIECE = 1024 * 1024


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


@dataclass(frozen=True)
class Embedded:
    """One embedded file: its SHA-256 and, unless it is larger than :data:`KEPT_BYTES`, its
    content (``None``: too large to keep; it was hashed as it was read)."""

    sha256: str
    content: bytes | None


def _source(pdf: Source) -> BinaryIO | str:
    return io.BytesIO(pdf) if isinstance(pdf, bytes | bytearray) else str(pdf)


def _specs(tree: DictionaryObject) -> Iterator[tuple[str, DictionaryObject]]:
    """The file specifications of a name tree, leaves and kids, in order."""
    names = tree.get("/Names", [])
    for index in range(0, len(names) - 1, 2):
        yield str(names[index]), names[index + 1].get_object()
    for kid in tree.get("/Kids", []):
        yield from _specs(kid.get_object())


def _read(stream: StreamObject) -> Embedded:
    """Hash an embedded file stream; a compressed one is inflated a piece at a time, so that
    a file of hundreds of megabytes is checked in the memory of its compressed bytes."""
    if stream.get("/Filter") != "/FlateDecode" or "/DecodeParms" in stream:
        content = stream.get_data()
        return Embedded(sha256_hex(content), content if len(content) <= KEPT_BYTES else None)
    raw = stream._data  # noqa: SLF001  (pypdf keeps an encoded stream's bytes here, undecoded)
    inflate, digest = zlib.decompressobj(), hashlib.sha256()
    kept: list[bytes] | None = []
    size = 0
    for start in range(0, len(raw), PIECE):
        piece = inflate.decompress(raw[start : start + PIECE])
        digest.update(piece)
        size += len(piece)
        if kept is not None and size <= KEPT_BYTES:
            kept.append(piece)
        else:
            kept = None
    tail = inflate.flush()
    digest.update(tail)
    size += len(tail)
    content = b"".join([*kept, tail]) if kept is not None and size <= KEPT_BYTES else None
    return Embedded(digest.hexdigest(), content)


def embedded_files(pdf: Source) -> dict[str, Embedded]:
    """The files embedded in ``pdf`` (its bytes or a path) by name, the first of a name,
    each hashed. ``ValueError`` for what is not a readable PDF or a file whose data is damaged."""
    try:
        reader = pypdf.PdfReader(_source(pdf))
        names = reader.trailer["/Root"].get_object().get("/Names")
        tree = names.get_object().get("/EmbeddedFiles") if names is not None else None
        found: dict[str, Embedded] = {}
        for name, spec in _specs(tree.get_object()) if tree is not None else ():
            if name not in found:
                found[name] = _embedded(name, spec)
        return found
    except DamagedAttachment:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ValueError(f"not a readable PDF: {exc}") from exc


class DamagedAttachment(ValueError):
    """An embedded file whose compressed data cannot be inflated."""


def _embedded(name: str, spec: DictionaryObject) -> Embedded:
    try:
        return _read(spec["/EF"]["/F"].get_object())
    except zlib.error as exc:
        raise DamagedAttachment(f"the attachment {name} cannot be read, its data is damaged ({exc})") from exc


def attachments(pdf: Source) -> dict[str, bytes]:
    """The files embedded in ``pdf`` by name, those small enough to keep
    (:data:`KEPT_BYTES`). Raises ``ValueError`` for what is not a readable PDF."""
    return _kept(embedded_files(pdf))


def _kept(embedded: dict[str, Embedded]) -> dict[str, bytes]:
    return {name: file.content for name, file in embedded.items() if file.content is not None}


def verify_record(pdf: Source, jwks: dict[str, Any] | None = None) -> Verification:
    """Check ``pdf`` (its bytes or a path) against ``jwks`` (default: the service's own
    published keys, which needs an application context): ``record.json`` and ``record.jws``
    are there, the signature verifies with a key of the set, and every attachment it names has
    the SHA-256 it names."""
    try:
        embedded = embedded_files(pdf)
    except ValueError as exc:
        return Verification(False, [str(exc)])
    files = _kept(embedded)
    result = Verification(False, attachments=files)
    if DATA_NAME not in embedded:
        result.messages.append(f"the PDF has no {DATA_NAME} attachment: it is not a signed record")
        return result
    actual = embedded[DATA_NAME].sha256
    result.record_sha256 = actual
    if SIGNATURE_NAME not in files:  # a signature is a few hundred bytes: kept
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
        if name not in embedded:
            result.messages.append(f"the attachment {name}, which the signature covers, is missing")
        elif embedded[name].sha256 != digest:
            result.messages.append(
                f"the attachment {name} was changed: its SHA-256 is {embedded[name].sha256}, "
                f"the signature covers {digest}"
            )
    result.ok = not result.messages
    return result
