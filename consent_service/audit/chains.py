"""One pass over an organization's ledger: every chain, state row and receipt (GB/T 35273 11.7).

Three streams ordered by subject id are read side by side: the people, their events (each with
its receipt, by an outer join) and their state rows. One person's events are in memory at a
time; what stays for the checkpoint checks is 32 bytes per event (its hash). For each person
the first problem found is reported, looked for in this order:

1. the chain: edited content, broken previous-hash link, missing or reordered event, head
   mismatch;
2. the state rows: exactly what the events imply (the decision path reads them);
3. the receipts: every grant has one (imported history excepted: its receipts were issued by
   the platform it came from), each verifies with a key the service can prove its own, and
   says what its event says.

A person whose information was erased (``erased_at``, PIPL 47) has a signed erasure record
(:class:`~consent_service.consent.models.SubjectErasure`), checked first: its signature with the
same keys, what it signs equal to its columns and the person's pseudonym. Each event it lists
keeps its original hash (the one the checkpoints cover) and is checked against the record's
digest of its redacted content instead; the links between events as always. A receipt whose
token was erased is right only for an erased person, with the SHA-256 the record signed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import select

from consent_service.audit.report import VerifyReport
from consent_service.consent.bulk import IMPORTED
from consent_service.consent.hashing import event_hash
from consent_service.consent.models import ConsentEvent, ConsentState, Subject, SubjectErasure
from consent_service.consent.redaction import ERASURE_TYPE, record_payload
from consent_service.consent.rows import EVENT_COLUMNS, EventRow
from consent_service.consent.state import STATE_FIELDS, fold
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.receipts import keys
from consent_service.receipts.models import ConsentReceipt
from consent_service.receipts.service import RECEIPT_TYPE, claims_mismatch

#: Rows fetched per round trip from each stream.
BATCH = 2000

_EVENT = ConsentEvent.__table__
_RECEIPT = ConsentReceipt.__table__
_WIDTH = len(EVENT_COLUMNS)
_SUBJECT_ID = EVENT_COLUMNS.index("subject_id")
_PURPOSE_ID = EVENT_COLUMNS.index("purpose_id")
_POLICY_ID = EVENT_COLUMNS.index("policy_version_id")


@dataclass
class Chains:
    """What the walk leaves behind: each chain's event hashes, and how recent the ledger is."""

    #: Subject id -> the SHA-256 digests of its events, in chain order, 32 bytes each.
    hashes: dict[int, bytes] = field(default_factory=dict)
    #: The oldest event the newest checkpoint does not cover: (recorded_at, which event).
    oldest_uncovered: tuple[datetime, str] | None = None
    newest_recorded_at: datetime | None = None

    def length(self, subject_id: int) -> int:
        """How many events the chain of ``subject_id`` has now (0 for none)."""
        return len(self.hashes.get(subject_id, b"")) // 32

    def hash_at(self, subject_id: int, seq: int) -> str:
        """The hash of event ``seq`` (from 1) of a chain at least that long."""
        return self.hashes[subject_id][32 * (seq - 1) : 32 * seq].hex()


def _digest(value: str | None) -> bytes:
    """An event hash as 32 bytes. One that is not 64 hex digits was edited (the chain check
    says so); it stands as zeros, which match no checkpoint."""
    try:
        digest = bytes.fromhex(value or "")
    except ValueError:
        return bytes(32)
    return digest if len(digest) == 32 else bytes(32)


class _Walk:
    """The walk of one organization; :func:`walk_ledger` runs it."""

    def __init__(
        self, org: Organization, report: VerifyReport, ring: keys.KeyRing, covered: dict[int, int]
    ) -> None:
        self.org = org
        self.report = report
        self.ring = ring
        self.covered = covered
        self.chains = Chains()
        self.codes = {
            row.id: row.code
            for row in db.session.execute(select(Purpose.id, Purpose.code).where(Purpose.org_id == org.id))
        }
        self.labels = {
            row.id: row.label
            for row in db.session.execute(
                select(PolicyVersion.id, PolicyVersion.label).where(PolicyVersion.org_id == org.id)
            )
        }
        #: The erasure records by subject id (one per erased person: few).
        self.erasures = {
            record.subject_id: record
            for record in db.session.scalars(select(SubjectErasure).where(SubjectErasure.org_id == org.id))
        }

    def run(self) -> Chains:
        """Read the three streams side by side and check each person."""
        events = groupby(self._events(), key=itemgetter(_SUBJECT_ID))
        states = groupby(self._states(), key=itemgetter(0))
        next_events, next_states = next(events, None), next(states, None)
        orphans = unknown_states = 0
        for subject in self._subjects():
            while next_events is not None and next_events[0] < subject.id:
                orphans += sum(1 for _ in next_events[1])
                next_events = next(events, None)
            while next_states is not None and next_states[0] < subject.id:
                unknown_states += 1
                next_states = next(states, None)
            rows: list[Any] = []
            if next_events is not None and next_events[0] == subject.id:
                rows = list(next_events[1])
                next_events = next(events, None)
            stored: dict[int, tuple] = {}
            if next_states is not None and next_states[0] == subject.id:
                stored = {row[1]: tuple(row[2:]) for row in next_states[1]}
                next_states = next(states, None)
            self._check(subject, rows, stored)
        while next_events is not None:
            orphans += sum(1 for _ in next_events[1])
            next_events = next(events, None)
        while next_states is not None:
            unknown_states += 1
            next_states = next(states, None)
        if orphans:
            self.report.problems.append(f"{orphans} events belong to no subject of {self.org.slug}")
        if unknown_states:
            self.report.problems.append(
                f"consent states of {unknown_states} unknown subjects (state rows added)"
            )
        for subject_id in sorted(self.erasures):
            self.report.problems.append(
                f"an erasure record of subject id {subject_id}, who is not in {self.org.slug}"
            )
        return self.chains

    def _subjects(self) -> Iterator[Any]:
        """The people of the organization, by id: their id, external id, chain head and when
        their information was erased."""
        table = Subject.__table__
        return iter(
            db.session.execute(
                select(
                    table.c.id, table.c.external_id, table.c.chain_seq, table.c.chain_head, table.c.erased_at
                )
                .where(table.c.org_id == self.org.id)
                .order_by(table.c.id)
                .execution_options(yield_per=BATCH)
            )
        )

    def _events(self) -> Iterator[Any]:
        """Each event's columns in :data:`EVENT_COLUMNS` order, then its receipt's (or NULLs)."""
        return iter(
            db.session.execute(
                select(
                    *(_EVENT.c[name] for name in EVENT_COLUMNS),
                    _RECEIPT.c.receipt_id,
                    _RECEIPT.c.kid.label("receipt_kid"),
                    _RECEIPT.c.jws,
                    _RECEIPT.c.org_id.label("receipt_org_id"),
                    _RECEIPT.c.jws_sha256,
                )
                .select_from(_EVENT.outerjoin(_RECEIPT, _RECEIPT.c.event_id == _EVENT.c.id))
                .where(_EVENT.c.org_id == self.org.id)
                .order_by(_EVENT.c.subject_id, _EVENT.c.seq)
                .execution_options(yield_per=BATCH)
            )
        )

    def _states(self) -> Iterator[Any]:
        """The state rows: subject id, purpose id, then :data:`STATE_FIELDS`, by subject and purpose."""
        table = ConsentState.__table__
        return iter(
            db.session.execute(
                select(table.c.subject_id, table.c.purpose_id, *(table.c[f] for f in STATE_FIELDS))
                .where(table.c.org_id == self.org.id)
                .order_by(table.c.subject_id, table.c.purpose_id)
                .execution_options(yield_per=BATCH)
            )
        )

    def _check(self, subject: Any, rows: list[Any], stored: dict[int, tuple]) -> None:
        """Check one person's chain, states and receipts; keep the hashes; note what is recent."""
        events = [
            EventRow(
                *row[: _WIDTH - 1],
                purpose_code=self.codes.get(row[_PURPOSE_ID], "?"),
                policy_label=self.labels.get(row[_POLICY_ID]),
                idempotency_fingerprint=row[_WIDTH - 1],
            )
            for row in rows
        ]
        receipts = [row[_WIDTH:] for row in rows]
        self.report.subjects += 1
        self.report.events += len(events)
        self.report.receipts += sum(1 for receipt in receipts if receipt[2] is not None)
        erasure = self.erasures.pop(subject.id, None)
        problem = self._erasure_problem(subject, erasure)
        redacted: dict[int, tuple[str, str]] = {}
        erased_receipts: dict[str, str] = {}
        if problem is None and erasure is not None:
            redacted = {seq: (original, digest) for seq, original, digest in erasure.events}
            erased_receipts = {receipt_id: digest for receipt_id, digest in erasure.receipts}
        problem = (
            problem
            or _chain_problem(subject, events, redacted)
            or _state_problem(subject, events, stored, self.codes)
            or self._receipt_problem(subject, events, receipts, erased_receipts)
        )
        if problem:
            self.report.problems.append(problem)
        self.chains.hashes[subject.id] = b"".join(_digest(e.hash) for e in events)
        self._note_recent(subject, events)

    def _note_recent(self, subject: Any, events: list[EventRow]) -> None:
        """Keep the newest recording time, and the oldest event the newest checkpoint lacks."""
        if not events:
            return
        chains = self.chains
        newest = max(e.recorded_at for e in events)
        if chains.newest_recorded_at is None or newest > chains.newest_recorded_at:
            chains.newest_recorded_at = newest
        covered = self.covered.get(subject.id, 0)
        for position, event in enumerate(events, start=1):
            if position <= covered:
                continue
            if chains.oldest_uncovered is None or event.recorded_at < chains.oldest_uncovered[0]:
                chains.oldest_uncovered = (event.recorded_at, _where(subject, event))

    def _erasure_problem(self, subject: Any, erasure: SubjectErasure | None) -> str | None:
        """What is wrong with a person's erasure (its record, its signature, its mark), or ``None``.

        A record proves the erasure only as the service signed it: with a key the service
        proves its own, over exactly its columns and the pseudonym the person's row has."""
        who = f"subject {subject.external_id!r} (id {subject.id})"
        if erasure is None:
            if subject.erased_at is None:
                return None
            return f"{who}: marked erased, but has no erasure record (record deleted, or erased_at set)"
        if subject.erased_at is None:
            return f"{who}: has a signed erasure record, but is not marked erased (erased_at cleared)"
        try:
            header, payload = self.ring.verify(erasure.jws, ERASURE_TYPE)
            signed = json.loads(payload)
            expected = record_payload(erasure, subject.external_id)
            items_ok = all(
                isinstance(item, list) and len(item) == size
                for items, size in ((erasure.events, 3), (erasure.receipts, 2))
                for item in items
            )
        except keys.InvalidSignature as exc:
            return f"{who}: erasure record: {exc.message}"
        except (ValueError, TypeError):
            return f"{who}: erasure record is malformed (record changed)"
        if header.get("kid") != erasure.kid:
            signer = header.get("kid")
            return f"{who}: erasure record signed with key {signer!r}, but stored as {erasure.kid!r}"
        if signed != expected or not items_ok:
            return f"{who}: erasure record differs from what it signs (record, or the pseudonym, changed)"
        if subject.erased_at != erasure.erased_at:
            return f"{who}: erased_at differs from the signed erasure record"
        return None

    def _receipt_problem(
        self, subject: Any, events: list[EventRow], receipts: list[Any], erased: dict[str, str]
    ) -> str | None:
        """The first receipt that is missing, misfiled, forged or says something else.
        ``erased`` maps each receipt the person's erasure record lists to its token's SHA-256."""
        for event, receipt in zip(events, receipts, strict=True):
            problem = self._receipt_of(subject, event, erased, *receipt)
            if problem:
                return f"{_where(subject, event)}: {problem}"
        return None

    def _receipt_of(
        self,
        subject: Any,
        event: EventRow,
        erased: dict[str, str],
        receipt_id: str | None,
        kid: str | None,
        token: str | None,
        org_id: int | None,
        token_sha256: str | None,
    ) -> str | None:
        """What is wrong with one event's receipt (or its absence), or ``None``."""
        if token is None and receipt_id is not None:
            if event.action != "grant":
                return f"receipt {receipt_id} belongs to a {event.action} (receipts are for grants only)"
            if org_id != self.org.id:
                return f"receipt {receipt_id} is filed under another organization"
            if not erased:
                return f"receipt {receipt_id} has no token (erased), yet the person is not erased"
            if token_sha256 is None or erased.get(receipt_id) != token_sha256:
                return f"receipt {receipt_id}: its erased token is not the one the erasure record signed"
            return None
        if token is None:
            if event.action == "grant" and event.method != IMPORTED:
                return "a grant without its receipt (receipt deleted, or the event forged)"
            return None
        if event.action != "grant":
            return f"receipt {receipt_id} belongs to a {event.action} (receipts are issued for grants only)"
        if org_id != self.org.id:
            return f"receipt {receipt_id} is filed under another organization"
        try:
            header, payload = self.ring.verify(token, RECEIPT_TYPE)
            claims = json.loads(payload)
        except keys.InvalidSignature as exc:
            return f"receipt {receipt_id}: {exc.message}"
        except ValueError:
            return f"receipt {receipt_id}: its payload is not JSON"
        if header.get("kid") != kid:
            signer = header.get("kid")
            return f"receipt {receipt_id}: signed with key {signer!r}, but stored as signed with {kid!r}"
        name = claims_mismatch(
            claims if isinstance(claims, dict) else {},
            subject.external_id,
            event,
            receipt_id,
            event.purpose_code,
            event.policy_label,
        )
        if name:
            return f"receipt {receipt_id}: its claim {name} differs from the event (event or receipt changed)"
        return None


def walk_ledger(
    org: Organization, report: VerifyReport, ring: keys.KeyRing, covered: dict[int, int]
) -> Chains:
    """Check every chain, state row and receipt of ``org`` into ``report``; return the chains.

    ``ring`` holds the keys a receipt may be signed with; ``covered`` maps a subject id to the
    length of its chain in the newest checkpoint, so that the oldest event no checkpoint covers
    is known.
    """
    return _Walk(org, report, ring, covered).run()


def _where(subject: Any, event: EventRow) -> str:
    """How a problem names an event."""
    return f"subject {subject.external_id!r} (id {subject.id}), event #{event.seq} ({event.uuid})"


def _chain_problem(
    subject: Any, events: list[EventRow], redacted: dict[int, tuple[str, str]] | None = None
) -> str | None:
    """Check one person's chain; return a description of the first broken link, or None.

    ``redacted`` maps the seq of each event an erasure redacted to its original hash and the
    digest of its redacted content, from the signed erasure record (already checked)."""
    redacted = redacted or {}
    prev = None
    for expected_seq, event in enumerate(events, start=1):
        where = _where(subject, event)
        if event.seq != expected_seq:
            return f"{where}: expected event #{expected_seq}; an event is missing or reordered"
        if event.prev_hash != prev:
            return f"{where}: previous-hash link broken (reordered or an earlier event changed)"
        if event.seq in redacted:
            original, digest = redacted[event.seq]
            if event.hash != original:
                return f"{where}: its hash is not the one the erasure record signed (event edited)"
            if event_hash(event, event.purpose_code) != digest:
                return f"{where}: redacted content does not match the signed erasure record (event edited)"
        elif event_hash(event, event.purpose_code) != event.hash:
            return f"{where}: content does not match its hash (event edited)"
        prev = event.hash
    if (subject.chain_seq, subject.chain_head) != (len(events), prev):
        return (
            f"subject {subject.external_id!r} (id {subject.id}): chain head says "
            f"#{subject.chain_seq} but the ledger ends at #{len(events)} (events deleted or added)"
        )
    return None


def _state_problem(
    subject: Any, events: list[EventRow], stored: dict[int, tuple], codes: dict[int, str]
) -> str | None:
    """The current-state rows must be exactly what the person's events imply: the decision
    path reads them, so an edited state row would change answers without touching the chain."""
    by_purpose: dict[int, list[EventRow]] = {}
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
