"""Exported heads: the newest signed checkpoint of each organization, kept outside the database.

Someone who can write to the database can delete the newest events together with the newest
checkpoints, or truncate history and let the scheduler sign fresh checkpoints over what is
left. A head exported now and kept elsewhere (a file on another machine, a mail to the PI
protection officer, a timestamping service) is what such a rewrite cannot reach:
``flask audit verify --head FILE`` proves the ledger still extends it.

The document::

    {"format": "consent-ledger-heads/1", "exported_at": "...",
     "heads": [{"org": "demo", "seq": 12, "created_at": "...", "merkle_root": "...",
                "hash": "...", "kid": "...", "jws": "<the checkpoint's compact JWS>"}]}

``hash`` is the SHA-256 of the canonical JSON of the signed payload; the JWS is the stored
signature itself, which the checkpoint row must still carry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from joserfc.util import urlsafe_b64decode

from consent_service.audit.checkpoints import CHECKPOINT_TYPE, checkpoint_payload, newest_checkpoint
from consent_service.audit.models import LedgerCheckpoint
from consent_service.canonical import canonical_json
from consent_service.consent.hashing import iso_utc
from consent_service.errors import DomainError
from consent_service.organizations.models import Organization
from consent_service.receipts import keys

FORMAT = "consent-ledger-heads/1"


class InvalidHead(DomainError):
    """A head cannot be exported (its checkpoint does not verify), or a head file is not one."""

    code = "invalid_head"


@dataclass(frozen=True)
class ExportedHead:
    """One organization's newest checkpoint as exported."""

    org: str
    seq: int
    created_at: str
    merkle_root: str
    hash: str
    kid: str
    jws: str

    def matches(self, cp: LedgerCheckpoint) -> bool:
        """Whether ``cp`` is still this checkpoint: the same hash and the very same signature."""
        return (cp.hash, cp.signature) == (self.hash, self.jws)


def export_heads(organizations: list[Organization], now: datetime) -> tuple[dict[str, Any], list[str]]:
    """The head document of ``organizations``, and the slugs of those without a checkpoint.

    Each head is checked first (its signature with the service's proven keys, its stored hash
    and content), so a forged checkpoint is never exported: :class:`InvalidHead` says which.
    """
    ring = keys.KeyRing(keys.jwks())
    heads, without = [], []
    for org in organizations:
        cp = newest_checkpoint(org)
        if cp is None:
            without.append(org.slug)
            continue
        payload = checkpoint_payload(cp, org.slug)
        try:
            _, signed = ring.verify(cp.signature, CHECKPOINT_TYPE)
        except keys.InvalidSignature as exc:
            message = f"{org.slug}: checkpoint #{cp.seq}: {exc.message}; run flask audit verify"
            raise InvalidHead(message) from exc
        if json.loads(signed) != payload or hashlib.sha256(canonical_json(payload)).hexdigest() != cp.hash:
            raise InvalidHead(
                f"{org.slug}: checkpoint #{cp.seq} differs from what was signed; run flask audit verify"
            )
        heads.append(
            ExportedHead(
                org=org.slug,
                seq=cp.seq,
                created_at=payload["created_at"],
                merkle_root=cp.merkle_root,
                hash=cp.hash,
                kid=cp.kid,
                jws=cp.signature,
            )
        )
    document = {"format": FORMAT, "exported_at": iso_utc(now), "heads": [asdict(h) for h in heads]}
    return document, without


def load_heads(text: str) -> dict[str, ExportedHead]:
    """The heads of an exported document, by organization slug.

    Each head must be consistent in itself: its JWS's payload names its organization, number,
    time and Merkle root, and hashes to its ``hash``. (Its signature is checked where it counts:
    the checkpoint row must carry the same one, and verify checks that with the trusted keys.)
    Raises :class:`InvalidHead` otherwise.
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidHead(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidHead(f"not an exported head document (format {FORMAT!r})")
    entries = document.get("heads")
    if not isinstance(entries, list):
        raise InvalidHead('no "heads" list')
    heads: dict[str, ExportedHead] = {}
    for entry in entries:
        head = _head(entry)
        if head.org in heads:
            raise InvalidHead(f"two heads of {head.org!r}")
        heads[head.org] = head
    return heads


def _head(entry: Any) -> ExportedHead:
    """One head of a document, checked against the payload its JWS carries."""
    try:
        head = ExportedHead(**entry)
        payload = json.loads(urlsafe_b64decode(head.jws.split(".")[1].encode()))
        hashed = hashlib.sha256(canonical_json(payload)).hexdigest()
        consistent = isinstance(head.seq, int) and (
            payload["org"],
            payload["seq"],
            payload["created_at"],
            payload["merkle_root"],
            hashed,
        ) == (head.org, head.seq, head.created_at, head.merkle_root, head.hash)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise InvalidHead(f"a head is malformed: {exc}") from exc
    if not consistent:
        raise InvalidHead(f"the head of {head.org!r} does not match the checkpoint its JWS carries")
    return head
