"""What a unit of work changed, noted by the service that changes it, for the audit entry of
whoever asked (PIPL 51, 54; GB/T 35273 11.7: records of operations, before and after).

The API's ``operation``, a command's ``command_transaction`` and a console form's
``staff_action`` each run their work inside :func:`collecting`; a service that changes
something worth recording (a request's status, a policy's, a client's scopes) calls
:func:`note` with the thing's ``kind:id`` and the fields before and after, and the entry that
records the work carries the notes as ``details.changes``. Outside :func:`collecting` (a job, a
test calling a service) a note is dropped. Notes hold identifiers, codes, statuses and times,
never personal data; a unit of work keeps at most :data:`LIMIT` of them and counts the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

#: At most this many notes per unit of work (a batch would otherwise fill the entry).
LIMIT = 100


@dataclass
class Changes:
    """The notes of one unit of work, and how many more there were."""

    notes: list[dict[str, Any]] = field(default_factory=list)
    more: int = 0

    def details(self) -> dict[str, Any]:
        """The notes as an audit entry's details (empty when nothing was noted)."""
        if not self.notes:
            return {}
        found: dict[str, Any] = {"changes": self.notes}
        if self.more:
            found["more_changes"] = self.more
        return found


_CURRENT: ContextVar[Changes | None] = ContextVar("changes", default=None)


@contextmanager
def collecting() -> Iterator[Changes]:
    """Collect the notes made while the body runs (nested: the inner one collects)."""
    changes = Changes()
    token = _CURRENT.set(changes)
    try:
        yield changes
    finally:
        _CURRENT.reset(token)


def note(target: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Note that ``target`` (``kind:id``) changed from ``before`` to ``after`` (``None``: it did
    not exist before, or does not after)."""
    changes = _CURRENT.get()
    if changes is None:
        return
    if len(changes.notes) < LIMIT:
        changes.notes.append({"target": target, "before": before, "after": after})
    else:
        changes.more += 1
