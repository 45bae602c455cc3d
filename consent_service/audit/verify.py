"""Verification of the ledger: every chain, every state row, every checkpoint (GB/T 11.7).

:func:`verify_organization` recomputes each person's chain (first broken link per person:
edited content, broken previous-hash link, missing or reordered event, head mismatch), checks
that the state rows are what the events imply, then checks every checkpoint (signature, chain of
checkpoints, each leaf still present, Merkle root).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from consent_service.audit.checkpoints import checkpoint_payload, merkle_root
from consent_service.audit.models import LedgerCheckpoint
from consent_service.canonical import canonical_json
from consent_service.consent.hashing import event_hash
from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.consent.state import STATE_FIELDS, fold
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose
from consent_service.receipts import keys


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
        payload = checkpoint_payload(cp, org.slug)
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
