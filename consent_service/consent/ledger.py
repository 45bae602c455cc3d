"""Tamper evidence: per-subject hash chains and signed Merkle checkpoints (GB/T 11.7).

Each event's hash covers its content and the previous event's hash in the same person's
chain, so writers for different people never wait on each other. A checkpoint commits to
every chain head of an organization with a Merkle root, is signed with the receipt key and
chains to the previous checkpoint; editing, deleting or reordering an event, or dropping a
whole chain, is then detectable by :func:`verify_organization`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from consent_service.canonical import canonical_json, json_value
from consent_service.consent.models import ConsentEvent, ConsentState, LedgerCheckpoint, Subject
from consent_service.consent.state import STATE_FIELDS, fold
from consent_service.extensions import db
from consent_service.policies.models import Organization, Purpose
from consent_service.receipts import keys


def _iso(value: datetime | None) -> str | None:
    # In UTC, as the database gives it back: a hash must not depend on the caller's time zone.
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def event_content(event: ConsentEvent, purpose_code: str) -> dict[str, Any]:
    """The fields an event's hash covers: everything but its own id and hash."""
    return {
        "uuid": event.uuid,
        "org_id": event.org_id,
        "subject_id": event.subject_id,
        "seq": event.seq,
        "purpose": purpose_code,
        "purpose_version": event.purpose_version,
        "policy_version_id": event.policy_version_id,
        "policy_seq": event.policy_seq,
        "action": event.action,
        "consent_type": event.consent_type,
        "actor": [event.actor_kind, event.actor_name, event.actor_relationship, event.actor_reason],
        "method": event.method,
        "evidence": event.evidence,
        "is_subject_initiated": event.is_subject_initiated,
        "bundle": [event.bundle_id, event.bundle_size],
        "idempotency_key": event.idempotency_key,
        "occurred_at": _iso(event.occurred_at),
        "recorded_at": _iso(event.recorded_at),
        "expires_at": _iso(event.expires_at),
        "prev_hash": event.prev_hash,
    }


def event_hash(event: ConsentEvent, purpose_code: str) -> str:
    """SHA-256 over the event's canonical content (which includes the previous hash).

    The bytes are those of ``canonical_json(event_content(event, purpose_code))``, written
    out field by field: every event written is hashed, and the general encoder, sorting the
    same twenty keys each time, was the larger part of an import's work. A property test
    holds the two equal.
    """
    e = event
    evidence = e.evidence
    text = _EVENT_TEMPLATE % (
        json_value(e.action),
        json_value(e.actor_kind),
        json_value(e.actor_name),
        json_value(e.actor_relationship),
        json_value(e.actor_reason),
        json_value(e.bundle_id),
        json_value(e.bundle_size),
        json_value(e.consent_type),
        "{}" if not evidence else canonical_json(evidence).decode(),
        json_value(_iso(e.expires_at)),
        json_value(e.idempotency_key),
        json_value(e.is_subject_initiated),
        json_value(e.method),
        json_value(_iso(e.occurred_at)),
        json_value(e.org_id),
        json_value(e.policy_seq),
        json_value(e.policy_version_id),
        json_value(e.prev_hash),
        json_value(purpose_code),
        json_value(e.purpose_version),
        json_value(_iso(e.recorded_at)),
        json_value(e.seq),
        json_value(e.subject_id),
        json_value(e.uuid),
    )
    return hashlib.sha256(text.encode()).hexdigest()


#: :func:`event_content`'s keys in sorted order, as :func:`canonical_json` writes them.
_EVENT_TEMPLATE = (
    '{"action":%s,"actor":[%s,%s,%s,%s],"bundle":[%s,%s],"consent_type":%s,"evidence":%s,'
    '"expires_at":%s,"idempotency_key":%s,"is_subject_initiated":%s,"method":%s,"occurred_at":%s,'
    '"org_id":%s,"policy_seq":%s,"policy_version_id":%s,"prev_hash":%s,"purpose":%s,'
    '"purpose_version":%s,"recorded_at":%s,"seq":%s,"subject_id":%s,"uuid":%s}'
)


def _leaf_hash(subject_id: int, seq: int, head: str) -> bytes:
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


def _checkpoint_payload(cp: LedgerCheckpoint, org_slug: str) -> dict[str, Any]:
    return {
        "org": org_slug,
        "seq": cp.seq,
        "created_at": _iso(cp.created_at),
        "subject_count": cp.subject_count,
        "event_count": cp.event_count,
        "merkle_root": cp.merkle_root,
        "prev_hash": cp.prev_hash,
    }


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
    last = db.session.scalars(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.org_id == org.id)
        .order_by(LedgerCheckpoint.seq.desc())
        .limit(1)
    ).first()
    if last is not None and last.merkle_root == root:
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
    )
    payload = _checkpoint_payload(cp, org.slug)
    cp.hash = hashlib.sha256(canonical_json(payload)).hexdigest()
    cp.kid, cp.signature = keys.sign(payload, now, typ="consent-checkpoint+jws")
    db.session.add(cp)
    db.session.flush()
    return cp


@dataclass
class VerifyReport:
    """What :func:`verify_organization` found: counts, and problems in the order met."""

    org: str
    subjects: int = 0
    events: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _verify_chain(subject: Subject, events: list[ConsentEvent], codes: dict[int, str]) -> str | None:
    """Check one person's chain; return a description of the first broken link, or None."""
    prev = None
    for expected_seq, event in enumerate(events, start=1):
        where = f"subject {subject.external_id!r} (id {subject.id}), event #{event.seq} ({event.uuid})"
        if event.seq != expected_seq:
            return f"{where}: expected event #{expected_seq}; an event is missing or reordered"
        if event.prev_hash != prev:
            return f"{where}: previous-hash link broken (reordered or an earlier event changed)"
        if event_hash(event, codes.get(event.purpose_id, "?")) != event.hash:
            return f"{where}: content does not match its hash (event edited)"
        prev = event.hash
    if (subject.chain_seq, subject.chain_head) != (len(events), prev):
        return (
            f"subject {subject.external_id!r} (id {subject.id}): chain head says "
            f"#{subject.chain_seq} but the ledger ends at #{len(events)} (events deleted or added)"
        )
    return None


def verify_organization(org: Organization) -> VerifyReport:
    """Check every chain and every checkpoint of ``org``; report problems, first broken first."""
    report = VerifyReport(org=org.slug)
    codes = {
        row.id: row.code
        for row in db.session.execute(select(Purpose.id, Purpose.code).where(Purpose.org_id == org.id))
    }
    heads: dict[int, list[str]] = {}
    subjects = db.session.scalars(select(Subject).where(Subject.org_id == org.id).order_by(Subject.id)).all()
    by_subject: dict[int, list[ConsentEvent]] = {s.id: [] for s in subjects}
    stream = db.session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.org_id == org.id)
        .order_by(ConsentEvent.subject_id, ConsentEvent.seq)
        .execution_options(yield_per=2000)
    )
    orphans = 0
    for event in stream:
        if event.subject_id in by_subject:
            by_subject[event.subject_id].append(event)
        else:
            orphans += 1
    states = _states_by_subject(org)
    for subject in subjects:
        events = by_subject.pop(subject.id)
        report.subjects += 1
        report.events += len(events)
        problem = _verify_chain(subject, events, codes) or _verify_states(
            subject, events, states.pop(subject.id, {}), codes
        )
        if problem:
            report.problems.append(problem)
        heads[subject.id] = [e.hash for e in events]
    if orphans:
        report.problems.append(f"{orphans} events belong to no subject of {org.slug}")
    if states:
        report.problems.append(f"consent states of {len(states)} unknown subjects (state rows added)")
    _verify_checkpoints(org, heads, report)
    return report


def _states_by_subject(org: Organization) -> dict[int, dict[int, tuple]]:
    table = ConsentState.__table__
    out: dict[int, dict[int, tuple]] = {}
    rows = db.session.execute(
        select(table.c.subject_id, table.c.purpose_id, *(table.c[f] for f in STATE_FIELDS)).where(
            table.c.org_id == org.id
        )
    )
    for row in rows:
        out.setdefault(row.subject_id, {})[row.purpose_id] = tuple(row)[2:]
    return out


def _verify_states(
    subject: Subject, events: list[ConsentEvent], stored: dict[int, tuple], codes: dict[int, str]
) -> str | None:
    """The current-state rows must be exactly what the person's events imply: the decision
    path reads them, so an edited state row would change answers without touching the chain."""
    by_purpose: dict[int, list[ConsentEvent]] = {}
    for event in events:
        by_purpose.setdefault(event.purpose_id, []).append(event)
    for purpose_id in sorted(set(by_purpose) | set(stored)):
        view = fold(by_purpose.get(purpose_id, []))
        expected = None if view is None else tuple(getattr(view, f) for f in STATE_FIELDS)
        if stored.get(purpose_id) != expected:
            return (
                f"subject {subject.external_id!r} (id {subject.id}), purpose "
                f"{codes.get(purpose_id, purpose_id)!r}: current state differs from what the events imply "
                "(state row edited)"
            )
    return None


def _verify_checkpoints(org: Organization, heads: dict[int, list[str]], report: VerifyReport) -> None:
    key_set = keys.jwks()
    prev_hash = None
    checkpoints = db.session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.org_id == org.id).order_by(LedgerCheckpoint.seq)
    )
    for expected_seq, cp in enumerate(checkpoints, start=1):
        report.checkpoints += 1
        label = f"checkpoint #{cp.seq}"
        payload = _checkpoint_payload(cp, org.slug)
        if cp.seq != expected_seq:
            report.problems.append(f"{label}: expected #{expected_seq}; a checkpoint is missing")
            return
        if cp.prev_hash != prev_hash:
            report.problems.append(f"{label}: does not chain to the previous checkpoint")
        try:
            _, signed = keys.verify(cp.signature, key_set)
        except keys.InvalidSignature as exc:
            report.problems.append(f"{label}: {exc.message}")
            signed = None
        if signed is not None and signed != payload:
            report.problems.append(f"{label}: signed content differs from the stored checkpoint")
        if hashlib.sha256(canonical_json(payload)).hexdigest() != cp.hash:
            report.problems.append(f"{label}: stored hash does not match its content")
        leaves = []
        for subject_id, seq in cp.leaves:
            chain = heads.get(subject_id, [])
            if len(chain) < seq:
                report.problems.append(
                    f"{label}: chain of subject id {subject_id} had {seq} events, "
                    f"now has {len(chain)} (chain dropped or truncated)"
                )
                continue
            leaves.append((subject_id, seq, chain[seq - 1]))
        if len(leaves) == len(cp.leaves) and merkle_root(leaves) != cp.merkle_root:
            report.problems.append(f"{label}: Merkle root does not match the chains (history rewritten)")
        prev_hash = cp.hash
