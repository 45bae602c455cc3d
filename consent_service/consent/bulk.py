"""Bulk import of consent acts: migrating a history from another consent platform.

``flask consents import FILE --org SLUG`` reads CSV or JSON lines (one act per row, in the
order they were recorded there) and appends them to the ledger in one transaction: the hash
chains, the current state and the chain heads come out exactly as if each act had been
recorded through :func:`consent_service.consent.service.record_act`; anything invalid stops
the import with its line number and nothing is written.

It differs from online recording on purpose: acts of the past are not re-prompts (the 48-hour
rule of GB/T C.4 b does not apply), the source platform issued the receipts (none are signed
here: every imported event's method is ``import``, the source's method is kept as evidence, so
that ``flask audit verify`` knows which grants have no receipt by design), and no webhooks are
sent for history. It writes with the same
:class:`~consent_service.consent.writer.ChainWriter` as online acts, a chunk of rows at a time.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from consent_service.consent.models import ACTOR_KINDS, COLLECTION_METHODS, CONSENT_TYPES, Subject
from consent_service.consent.rows import Chain
from consent_service.consent.rules import (
    CONSENT_TYPE_RANK,
    EARLIEST_ACT,
    MAX_CLOCK_SKEW,
    REQUIREMENT_RANK,
    in_force,
    required_consent,
)
from consent_service.consent.subjects import is_minor
from consent_service.consent.writer import Actor, ChainWriter
from consent_service.errors import DomainError
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, PurposeVersion
from consent_service.policies.purposes import current_versions

ACTIONS = ("grant", "withdraw", "refuse")
EVIDENCE_FIELDS = ("ip", "user_agent", "locale", "notice_sha256", "document_ref")
#: The method of every imported event: no receipt is signed for it (the source platform issued one).
IMPORTED = "import"
#: How consent may have been collected on the source platform (kept as evidence).
SOURCE_METHODS = tuple(m for m in COLLECTION_METHODS if m not in ("system", IMPORTED))
#: Imports at least this large refresh the planner's statistics.
ANALYZE_AFTER = 10_000


class ImportRefused(DomainError):
    """A row of the import is invalid or breaks a rule; nothing was written."""

    code = "import_refused"
    status = 422


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    events: int = 0
    skipped: int = 0
    subjects_created: int = 0
    seconds: float = 0.0


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` from a ``.csv`` file or a JSON-lines file (``.jsonl``/``.ndjson``)."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield number, {k: v for k, v in row.items() if v not in ("", None)}
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ImportRefused(f"line {number}: not JSON ({exc})") from exc
                if not isinstance(row, dict):
                    raise ImportRefused(f"line {number}: not a JSON object")
                yield number, row


def _parse_time(value: Any, number: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ImportRefused(f"line {number}: occurred_at {value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise ImportRefused(f"line {number}: occurred_at needs a time zone")
    return parsed.astimezone(UTC)


def _purposes(org: Organization) -> dict[str, tuple[PurposeVersion, int]]:
    """Each purpose's current version, and the rank of the consent it needs."""
    return {
        code: (version, REQUIREMENT_RANK[required_consent(version)])
        for code, version in current_versions(org).items()
    }


class _Importer:
    """One import: purpose and policy maps, then chunk after chunk in the caller's transaction."""

    def __init__(self, org: Organization, now: datetime) -> None:
        self.org = org
        self.now = now
        self.purposes = _purposes(org)
        self.policies = {
            p.label: p
            for p in db.session.scalars(
                select(PolicyVersion).where(
                    PolicyVersion.org_id == org.id, PolicyVersion.status == "published"
                )
            )
        }
        self.report = ImportReport()

    def chunk(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        parsed = [self._parse(number, row) for number, row in rows]
        writer = ChainWriter(self.org, self.now, notify=False)
        chains, created = self._chains(writer, {p["subject"] for p in parsed})
        writer.load_states(  # people created just now have no states yet
            (chains[p["subject"]].id, p["version"].purpose_id) for p in parsed if p["subject"] not in created
        )
        writer.reserve(len(parsed))
        for item in parsed:
            self._append(writer, item, chains[item["subject"]])
        writer.write()
        self.report.rows += len(rows)
        self.report.events += len(writer.events)

    def _parse(self, number: int, row: dict[str, Any]) -> dict[str, Any]:
        def fail(message: str):
            raise ImportRefused(f"line {number}: {message}")

        subject = row.get("subject")
        if not isinstance(subject, str) or not 0 < len(subject) <= 200:
            fail("subject must be 1-200 characters")
        code = row.get("purpose")
        if code not in self.purposes:
            fail(f"unknown purpose {code!r}")
        version, required_rank = self.purposes[code]
        action = row.get("action")
        if action not in ACTIONS:
            fail(f"action must be one of {', '.join(ACTIONS)}")
        consent_type = row.get("consent_type")
        if action == "grant":
            if consent_type not in CONSENT_TYPES:
                fail(f"a grant needs consent_type, one of {', '.join(CONSENT_TYPES)}")
            if version.legal_basis != "consent":
                fail(f"purpose {code!r} does not rest on consent (PIPL 13)")
            if CONSENT_TYPE_RANK[consent_type] < required_rank:
                fail(f"purpose {code!r} needs a stronger consent than {consent_type}")
        actor_kind = row.get("actor_kind", "subject")
        if actor_kind not in ACTOR_KINDS or actor_kind == "system":
            fail("actor_kind must be subject, guardian or officer")
        if actor_kind == "guardian" and not (row.get("actor_name") and row.get("actor_relationship")):
            fail("a guardian needs actor_name and actor_relationship (PIPL 31)")
        if actor_kind == "officer" and not (row.get("actor_name") and row.get("actor_reason")):
            fail("an officer needs actor_name and actor_reason")
        policy = None
        if row.get("policy_version"):
            policy = self.policies.get(row["policy_version"])
            if policy is None:
                fail(f"policy version {row['policy_version']!r} is not published")
        occurred_at = _parse_time(row.get("occurred_at"), number)
        if occurred_at > self.now + MAX_CLOCK_SKEW:
            fail("occurred_at is in the future")
        if occurred_at < EARLIEST_ACT:
            fail(f"occurred_at is before {EARLIEST_ACT.date().isoformat()}")
        return {
            "number": number,
            "subject": subject,
            "version": version,
            "action": action,
            "consent_type": consent_type if action == "grant" else None,
            "actor": Actor(
                actor_kind, row.get("actor_name"), row.get("actor_relationship"), row.get("actor_reason")
            ),
            "policy": policy,
            "occurred_at": occurred_at,
            "method": IMPORTED,
            "evidence": self._evidence(row, fail),
        }

    @staticmethod
    def _evidence(row: dict[str, Any], fail) -> dict[str, str]:
        """The evidence of an imported act. Its ``method`` (how consent was collected on the
        source platform) is kept here as ``source_method``: the event's own method is always
        ``import``, which is how an audit knows that no receipt was issued for it here."""
        evidence = {k: str(row[k]) for k in EVIDENCE_FIELDS if row.get(k) not in (None, "")}
        method = row.get("method")
        if method not in (None, "", IMPORTED):
            if method not in SOURCE_METHODS:
                fail(f"method must be one of {', '.join(SOURCE_METHODS)}")
            evidence["source_method"] = method
        return evidence

    def _chains(self, writer: ChainWriter, external_ids: set[str]) -> tuple[dict[str, Chain], set[str]]:
        """Lock the chains of these people, creating the people not known yet (also returned)."""
        chains = writer.lock(external_ids)
        missing = external_ids - chains.keys()
        if missing:
            db.session.execute(
                Subject.__table__.insert(),
                [
                    {
                        "org_id": self.org.id,
                        "external_id": e,
                        "chain_seq": 0,
                        "is_under_14": False,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                    for e in sorted(missing)
                ],
            )
            self.report.subjects_created += len(missing)
            chains.update(writer.lock(missing))
        return chains, missing

    def _append(self, writer: ChainWriter, item: dict[str, Any], chain: Chain) -> None:
        version: PurposeVersion = item["version"]
        state = writer.states.get((chain.id, version.purpose_id))
        if item["action"] == "withdraw" and not in_force(state):
            self.report.skipped += 1  # withdrawing what is not in force records nothing (PIPL 15)
            return
        actor: Actor = item["actor"]
        if (
            item["action"] == "grant"
            and not actor.is_guardian
            and is_minor(chain, self.org, item["occurred_at"])
        ):
            raise ImportRefused(
                f"line {item['number']}: the subject is under 14: a guardian must consent (PIPL 31)"
            )
        writer.append(
            chain,
            version,
            item["policy"],
            action=item["action"],
            consent_type=item["consent_type"],
            method=item["method"],
            actor=actor,
            evidence=item["evidence"],
            occurred_at=item["occurred_at"],
            bundle_id=str(uuid.uuid4()),
            bundle_size=1,
            idempotency_key=None,
            is_subject_initiated=False,
        )


@contextmanager
def _plans_per_statement() -> Iterator[None]:
    """PostgreSQL: plan each statement for its own values while the import runs.

    psycopg prepares a statement run five times, and the server keeps one generic plan for it.
    A plan made while the import's first chunks were small (a sequential scan of a few people)
    would then be kept while the table grows by a million rows, each chunk scanning it whole.
    """
    connection = db.session.connection().connection.driver_connection
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    threshold = connection.prepare_threshold
    connection.prepare_threshold = None
    try:
        yield
    finally:
        connection.prepare_threshold = threshold


def import_acts(
    org: Organization, rows: Iterable[tuple[int, dict[str, Any]]], now: datetime, chunk_size: int = 10000
) -> ImportReport:
    """Append ``rows`` (``(line number, act)``) to the ledger in the caller's transaction."""
    importer = _Importer(org, now)
    iterator = iter(rows)
    with _plans_per_statement():
        while chunk := list(islice(iterator, chunk_size)):
            importer.chunk(chunk)
    db.session.expire_all()  # rows were written beside the ORM: reload what it holds
    if importer.report.events >= ANALYZE_AFTER:
        # The planner's statistics are stale after a large load (batch decisions would scan).
        db.session.execute(
            text(
                "ANALYZE consent_event, consent_state, subject"
                if db.session.get_bind().dialect.name == "postgresql"
                else "ANALYZE"
            )
        )
    return importer.report
