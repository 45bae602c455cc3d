"""Signed Merkle checkpoints of an organization's chain heads (GB/T 35273 11.7).

A checkpoint commits to every chain head of an organization with a Merkle root and to the head
of its audit trail, is signed with
the receipt key and chains to the previous checkpoint; editing, deleting or reordering an
event, or dropping a whole chain, is then found by :mod:`consent_service.audit.verify`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select

from consent_service.audit.models import LedgerCheckpoint
from consent_service.audit.trail import trail_head
from consent_service.canonical import canonical_json
from consent_service.consent.hashing import iso_utc
from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.receipts import keys

#: The JWS ``typ`` of a checkpoint's signature (a receipt's is ``consent-receipt+jwt``).
CHECKPOINT_TYPE = "consent-checkpoint+jws"


def _leaf_hash(subject_id: int, seq: int, head: str) -> bytes:
    """A Merkle leaf: one chain head, with the 0x00 prefix of RFC 6962."""
    return hashlib.sha256(b"\x00" + canonical_json([subject_id, seq, head])).digest()


def merkle_root(leaves: list[tuple[int, int, str]]) -> str:
    """Merkle root (RFC 6962 style: 0x00 leaf and 0x01 node prefixes) of sorted chain heads."""
    level = [_leaf_hash(*leaf) for leaf in sorted(leaves)]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        nxt = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def checkpoint_payload(cp: LedgerCheckpoint, org_slug: str) -> dict[str, Any]:
    """What a checkpoint's signature covers (its leaves are covered through the Merkle root;
    the audit trail's head as ``trail``: ``[seq, hash]``, the service's own trail's head as
    ``service_trail``)."""
    payload: dict[str, Any] = {
        "org": org_slug,
        "seq": cp.seq,
        "created_at": iso_utc(cp.created_at),
        "subject_count": cp.subject_count,
        "event_count": cp.event_count,
        "merkle_root": cp.merkle_root,
        "prev_hash": cp.prev_hash,
    }
    if cp.trail_seq is not None:  # checkpoints signed before the audit trail do not name it
        payload["trail"] = [cp.trail_seq, cp.trail_hash]
    if cp.service_trail_seq is not None:  # nor, before it was covered, the service's own
        payload["service_trail"] = [cp.service_trail_seq, cp.service_trail_hash]
    return payload


def newest_checkpoint(org: Organization) -> LedgerCheckpoint | None:
    """The checkpoint of ``org`` with the highest number, if any."""
    return db.session.scalars(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.org_id == org.id)
        .order_by(LedgerCheckpoint.seq.desc())
        .limit(1)
    ).first()


def create_checkpoint(org: Organization, now: datetime) -> LedgerCheckpoint | None:
    """Commit to all of ``org``'s chain heads; ``None`` when nothing changed since the last.

    The organization row is locked first, so two scheduler processes never write the same
    checkpoint number twice (the unique constraint backs this up).
    """
    db.session.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    rows = db.session.execute(
        select(Subject.id, Subject.chain_seq, Subject.chain_head)
        .where(Subject.org_id == org.id, Subject.chain_seq > 0)
        .order_by(Subject.id)
    ).all()
    leaves = [(r.id, r.chain_seq, r.chain_head) for r in rows]
    root = merkle_root(leaves)
    last = newest_checkpoint(org)
    trail_seq, trail_hash = trail_head(org.id) or (None, None)
    # The service's trail is signed with whatever else changed, never as a change by itself:
    # every run of the checkpoint job adds an entry to it.
    service_seq, service_hash = trail_head(None) or (None, None)
    if last is not None and (last.merkle_root, last.trail_seq, last.trail_hash) == (
        root,
        trail_seq,
        trail_hash,
    ):
        return None
    cp = LedgerCheckpoint(
        org_id=org.id,
        seq=(last.seq + 1) if last else 1,
        created_at=now,
        subject_count=len(leaves),
        event_count=sum(seq for _, seq, _ in leaves),
        leaves=[[sid, seq] for sid, seq, _ in leaves],
        merkle_root=root,
        prev_hash=last.hash if last else None,
        trail_seq=trail_seq,
        trail_hash=trail_hash,
        service_trail_seq=service_seq,
        service_trail_hash=service_hash,
    )
    payload = checkpoint_payload(cp, org.slug)
    cp.hash = hashlib.sha256(canonical_json(payload)).hexdigest()
    cp.kid, cp.signature = keys.sign(payload, now, typ=CHECKPOINT_TYPE)
    db.session.add(cp)
    db.session.flush()
    return cp
