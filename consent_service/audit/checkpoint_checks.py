"""The checks of an organization's checkpoints against its chains as they are now.

Every checkpoint, in order: none missing from the sequence (each gap is named, and the rest are
still checked), each chained to the one before it, signed with a key the service can prove its
own (or one the operator pinned), its signed content equal to the row, its hash, each chain it
names still at least as long, and its Merkle root recomputed from the chains. An exported head
(:mod:`consent_service.audit.heads`) must still be there, unchanged; since later checkpoints
must chain to it, the ledger is proven to extend it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from consent_service.audit.chains import Chains
from consent_service.audit.checkpoints import CHECKPOINT_TYPE, checkpoint_payload, merkle_root
from consent_service.audit.heads import ExportedHead
from consent_service.audit.models import AuditEntry, LedgerCheckpoint
from consent_service.audit.report import VerifyReport
from consent_service.canonical import canonical_json
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.receipts import keys


def leaves_of(cp: LedgerCheckpoint) -> list[tuple[int, int]] | None:
    """The ``(subject id, seq)`` pairs of a checkpoint, or ``None`` when they are not such pairs."""
    try:
        pairs = [(subject_id, seq) for subject_id, seq in cp.leaves]
    except (TypeError, ValueError):
        return None
    if not all(type(a) is int and type(b) is int for a, b in pairs):
        return None
    return pairs


def verify_checkpoints(
    org: Organization,
    chains: Chains,
    ring: keys.KeyRing,
    report: VerifyReport,
    head: ExportedHead | None = None,
) -> None:
    """Check every checkpoint of ``org`` (and the exported ``head``) into ``report``."""
    previous: LedgerCheckpoint | None = None
    head_found = False
    checkpoints = db.session.scalars(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.org_id == org.id)
        .order_by(LedgerCheckpoint.seq)
        .execution_options(yield_per=16)
    )
    for cp in checkpoints:
        report.checkpoints += 1
        label = f"checkpoint #{cp.seq}"
        expected_seq = previous.seq + 1 if previous else 1
        if cp.seq > expected_seq:
            if cp.seq == expected_seq + 1:
                missing = f"checkpoint #{expected_seq} is"
            else:
                missing = f"checkpoints #{expected_seq} to #{cp.seq - 1} are"
            report.problems.append(f"{label}: {missing} missing before it (deleted)")
        elif cp.seq < expected_seq:
            report.problems.append(f"{label}: numbered out of sequence (expected #{expected_seq})")
        elif cp.prev_hash != (previous.hash if previous else None):
            report.problems.append(f"{label}: does not chain to the previous checkpoint")
        if head is not None and cp.seq == head.seq:
            head_found = True
            if not head.matches(cp):
                report.problems.append(
                    f"{label} is not the exported head: its hash or signature differs (checkpoints rewritten)"
                )
        _verify_one(org, cp, label, chains, ring, report)
        previous = cp
    if head is not None and not head_found:
        newest = f"the newest is #{previous.seq}" if previous else "there are none"
        report.problems.append(
            f"checkpoint #{head.seq} of the exported head (created {head.created_at}) is gone; {newest} "
            "(checkpoints deleted, or history truncated and signed again)"
        )


def _verify_one(
    org: Organization,
    cp: LedgerCheckpoint,
    label: str,
    chains: Chains,
    ring: keys.KeyRing,
    report: VerifyReport,
) -> None:
    """Signature, content, hash, leaves and Merkle root of one checkpoint."""
    payload = checkpoint_payload(cp, org.slug)
    signed: Any = None
    try:
        header, body = ring.verify(cp.signature, CHECKPOINT_TYPE)
        signed = json.loads(body)
        if header.get("kid") != cp.kid:
            report.problems.append(f"{label}: signed with key {header.get('kid')!r}, stored as {cp.kid!r}")
    except keys.InvalidSignature as exc:
        report.problems.append(f"{label}: {exc.message}")
    except ValueError:
        report.problems.append(f"{label}: its signed payload is not JSON")
    if signed is not None and signed != payload:
        report.problems.append(f"{label}: signed content differs from the stored checkpoint")
    if hashlib.sha256(canonical_json(payload)).hexdigest() != cp.hash:
        report.problems.append(f"{label}: stored hash does not match its content")
    if cp.trail_seq is not None:
        _verify_trail_head(org.id, cp.trail_seq, cp.trail_hash, label, report)
    if cp.service_trail_seq is not None:
        _verify_trail_head(None, cp.service_trail_seq, cp.service_trail_hash, label, report)
    pairs = leaves_of(cp)
    if pairs is None:
        report.problems.append(f"{label}: its leaves are not [subject id, seq] pairs (edited)")
        return
    leaves = []
    for subject_id, seq in pairs:
        length = chains.length(subject_id)
        if seq < 1:
            report.problems.append(f"{label}: its leaf of subject id {subject_id} names no event (edited)")
        elif length < seq:
            report.problems.append(
                f"{label}: chain of subject id {subject_id} had {seq} events, "
                f"now has {length} (chain dropped or truncated)"
            )
        else:
            leaves.append((subject_id, seq, chains.hash_at(subject_id, seq)))
    if len(leaves) == len(pairs) and merkle_root(leaves) != cp.merkle_root:
        report.problems.append(f"{label}: Merkle root does not match the chains (history rewritten)")


def _verify_trail_head(
    org_id: int | None, seq: int, signed_hash: str | None, label: str, report: VerifyReport
) -> None:
    """The audit entry a checkpoint names as a trail's head (the organization's, or with
    ``org_id`` ``None`` the service's) must still be there, unchanged."""
    where = AuditEntry.org_id.is_(None) if org_id is None else AuditEntry.org_id == org_id
    stored = db.session.scalar(select(AuditEntry.hash).where(where, AuditEntry.seq == seq))
    if org_id is None:
        entry, trail = "the service's audit entry", "the service's trail"
    else:
        entry, trail = "audit entry", "trail"
    if stored is None:
        report.problems.append(f"{label}: {entry} #{seq}, the head it signed, is gone ({trail} truncated)")
    elif stored != signed_hash:
        report.problems.append(f"{label}: {entry} #{seq} is not the one it signed ({trail} rewritten)")
