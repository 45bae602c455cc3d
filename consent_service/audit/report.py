"""What a verification found: counts, and problems as plain lines in the order met."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VerifyReport:
    """What :func:`~consent_service.audit.verify.verify_organization` found: counts, and
    problems in the order met (the first broken row first)."""

    org: str
    subjects: int = 0
    events: int = 0
    checkpoints: int = 0
    receipts: int = 0
    #: Entries of the audit trail walked.
    trail_entries: int = 0
    #: The sequence number of the exported head the ledger was checked against, if any.
    anchored_at: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing was found."""
        return not self.problems
