"""Verification of the ledger: every chain, state row, receipt and checkpoint (GB/T 11.7).

:func:`verify_organization` is the one entry point. It proves what it can against someone who
can write to the database but does not hold ``SECRET_KEY``:

- signatures count only with keys the service proves its own (their private key decrypts
  with the secret and matches their public key) or keys the operator pinned
  (:func:`consent_service.receipts.keys.trusted_jwks`);
- one pass over the chains, state rows and receipts (:mod:`consent_service.audit.chains`);
- every checkpoint, and an exported head if given (:mod:`consent_service.audit.checkpoint_checks`);
- the audit trail: each entry's hash, its link, no gap (:mod:`consent_service.audit.trail_checks`);
- that checkpoints keep up: an event that no checkpoint covers may be at most
  ``CHECKPOINT_INTERVAL_MINUTES`` plus ``CHECKPOINT_GRACE_MINUTES`` old. A quiet organization
  (no event since its newest checkpoint) is never flagged, however old that checkpoint.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from consent_service.audit.chains import Chains, walk_ledger
from consent_service.audit.checkpoint_checks import leaves_of, verify_checkpoints
from consent_service.audit.checkpoints import newest_checkpoint
from consent_service.audit.heads import ExportedHead
from consent_service.audit.models import LedgerCheckpoint
from consent_service.audit.report import VerifyReport
from consent_service.audit.trail_checks import verify_trail
from consent_service.clock import utcnow
from consent_service.consent.hashing import iso_utc
from consent_service.organizations.models import Organization
from consent_service.receipts import keys

__all__ = ["VerifyReport", "allowed_checkpoint_age", "verify_organization", "verify_service_trail"]


def verify_organization(
    org: Organization,
    *,
    pinned_keys: dict[str, Any] | None = None,
    head: ExportedHead | None = None,
    now: datetime | None = None,
) -> VerifyReport:
    """Check every chain, state row, receipt and checkpoint of ``org``; report problems, the
    first broken row first.

    ``pinned_keys`` is a JWK Set the operator kept (its keys count beside the proven ones);
    ``head`` an exported head the ledger must still extend; ``now`` the time the age of the
    newest events is measured at (the clock's by default).
    """
    report = VerifyReport(org=org.slug)
    ring = keys.KeyRing(keys.trusted_jwks(pinned_keys))
    newest = newest_checkpoint(org)
    covered = dict(leaves_of(newest) or []) if newest is not None else {}
    chains = walk_ledger(org, report, ring, covered)
    verify_checkpoints(org, chains, ring, report, head)
    verify_trail(org.id, report)
    if head is not None:
        report.anchored_at = head.seq
    _verify_freshness(newest, chains, report, now or utcnow())
    return report


def verify_service_trail() -> VerifyReport:
    """Check the service's own trail (jobs, commands across organizations)."""
    report = VerifyReport(org="(service)")
    verify_trail(None, report)
    return report


def allowed_checkpoint_age() -> timedelta:
    """How old an event may be before a checkpoint must cover it: one checkpoint interval and
    the grace for a late or slow checkpoint run."""
    config = current_app.config
    return timedelta(minutes=config["CHECKPOINT_INTERVAL_MINUTES"] + config["CHECKPOINT_GRACE_MINUTES"])


def _verify_freshness(
    newest: LedgerCheckpoint | None, chains: Chains, report: VerifyReport, now: datetime
) -> None:
    """Events must not wait longer than allowed for a checkpoint: otherwise checkpoints were
    deleted (with the events they covered, perhaps), or the checkpoint job is not running.

    The age is measured at ``now`` or at the newest event's recording time, whichever is later.
    """
    if chains.oldest_uncovered is None:
        return
    recorded_at, where = chains.oldest_uncovered
    reference = max(now, chains.newest_recorded_at or now)
    allowed = allowed_checkpoint_age()
    if reference - recorded_at <= allowed:
        return
    minutes = int(allowed.total_seconds() // 60)
    if newest is None:
        report.problems.append(
            f"no checkpoint, yet {where} was recorded at {iso_utc(recorded_at)}, more than {minutes} "
            "minutes ago (checkpoints deleted, or the checkpoint job is not running)"
        )
    else:
        report.problems.append(
            f"checkpoint #{newest.seq} ({iso_utc(newest.created_at)}) is the newest, yet {where}, recorded "
            f"at {iso_utc(recorded_at)}, is in none: more than {minutes} minutes without a checkpoint "
            "(later checkpoints deleted, or the checkpoint job is not running)"
        )
