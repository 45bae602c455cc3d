"""The check of an audit trail: every entry's hash, each link to the one before, no gap in
``seq``, and the head row at the newest entry (GB/T 35273 11.7).

One problem is named per broken entry, by its number and what differs; the walk goes on, so
every later damage is found too. The entries are read in order, a batch at a time.
"""

from __future__ import annotations

from sqlalchemy import select

from consent_service.audit.models import AuditEntry
from consent_service.audit.report import VerifyReport
from consent_service.audit.trail import entry_hash, trail_head
from consent_service.extensions import db

#: How far from its stored number an entry's hash is looked for (a swapped or renumbered entry).
_RENUMBER_WINDOW = 16


def verify_trail(org_id: int | None, report: VerifyReport) -> None:
    """Walk ``org_id``'s trail (``None``: the service's own) into ``report``."""
    table = AuditEntry.__table__
    rows = db.session.execute(
        select(table)
        .where(table.c.org_id.is_(None) if org_id is None else table.c.org_id == org_id)
        .order_by(table.c.seq)
        .execution_options(yield_per=1000)
    ).mappings()
    expected, prev_hash = 1, None
    for row in rows:
        report.trail_entries += 1
        label = f"audit entry #{row['seq']}"
        if row["seq"] > expected:
            gap = f"#{expected}" if row["seq"] == expected + 1 else f"#{expected} to #{row['seq'] - 1}"
            report.problems.append(f"{label}: audit entry {gap} missing before it (deleted)")
        elif row["seq"] < expected:
            report.problems.append(f"{label}: numbered twice or out of order (expected #{expected})")
        if entry_hash(row) != row["hash"]:
            report.problems.append(f"{label}: {_what_differs(row)}")
        elif row["prev_hash"] != prev_hash and row["seq"] == expected:
            report.problems.append(f"{label}: does not link to the entry before it (reordered or inserted)")
        expected, prev_hash = row["seq"] + 1, row["hash"]
    head = trail_head(org_id)
    newest = expected - 1
    if head is not None and (head[0], head[1]) != (newest, prev_hash if newest else None):
        if head[0] > newest:
            report.problems.append(
                f"audit trail: its head is entry #{head[0]}, the newest entry is #{newest} "
                "(the newest entries deleted)"
            )
        else:
            report.problems.append(f"audit trail: its head (#{head[0]}) is not the newest entry (#{newest})")
    elif head is None and newest:
        report.problems.append("audit trail: entries without a head row (head deleted)")


def _what_differs(row) -> str:
    """Why an entry's content does not match its hash: renumbered (its hash is right for
    another number), or edited."""
    for seq in range(max(1, row["seq"] - _RENUMBER_WINDOW), row["seq"] + _RENUMBER_WINDOW + 1):
        if seq != row["seq"] and entry_hash({**row, "seq": seq}) == row["hash"]:
            return f"its hash is that of entry #{seq}: renumbered (entries swapped or reordered)"
    return "content does not match its hash (entry edited: actor, action, target, outcome or details)"
