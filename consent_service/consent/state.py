"""The projection of a consent history onto its current state: one pure function.

The ledger keeps :class:`~consent_service.consent.models.ConsentState` rows in step with
events by calling :func:`apply` inside the same transaction; a decision about the past folds
the history with the same function, so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from consent_service.consent.models import STATUSES, ConsentEvent


@dataclass(frozen=True)
class StateView:
    """The state of one (subject, purpose): the one shape of a state everywhere.

    The projection makes it from events, the ledger stores it as a ``consent_state`` row with
    these fields as columns, the rules of a decision read it, and the decision hot path reads
    its columns in this order. Adding a field here (and the column) is the whole change.
    """

    status: str
    event_id: int | None
    #: The public id of that event (kept on the state so that answers need not look it up).
    event_uuid: str | None
    purpose_version: int
    policy_seq: int
    consent_type: str | None
    is_guardian_act: bool
    occurred_at: datetime
    expires_at: datetime | None
    refused_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> StateView:
        """The state held by anything with the state's fields (a ``ConsentState`` row)."""
        return cls(*(getattr(row, name) for name in STATE_FIELDS))


#: The fields of a state, in order: also the columns of ``consent_state`` beside its keys.
STATE_FIELDS = tuple(f.name for f in fields(StateView))
#: Those that are times (stored as UTC, read back aware).
STATE_TIMES = frozenset(f.name for f in fields(StateView) if f.type in ("datetime", "datetime | None"))


def apply(state: StateView | None, event: ConsentEvent) -> StateView:
    """Return the state after ``event``.

    Events are applied in the order they happened (``occurred_at``, ties to the one recorded
    last), so a paper consent recorded late does not override a withdrawal that happened after
    it. An ``expire`` event ends only the grant whose validity it marks: if a later grant (say,
    a renewal recorded late) is in force by then, it changes nothing. The time of the latest
    refusal is kept for the 48-hour rule of GB/T 35273 Annex C.4 b).
    """
    refused_at = state.refused_at if state else None
    if event.action == "refuse" and (refused_at is None or event.occurred_at > refused_at):
        refused_at = event.occurred_at
    if state is not None and event.occurred_at < state.occurred_at:
        return replace(state, refused_at=refused_at)
    if event.action == "expire" and not (
        state is not None and state.status == "granted" and state.expires_at == event.occurred_at
    ):
        return state if state is None else replace(state, refused_at=refused_at)
    return StateView(
        status=STATUSES[event.action],
        event_id=event.id,
        event_uuid=event.uuid,
        purpose_version=event.purpose_version,
        policy_seq=event.policy_seq,
        consent_type=event.consent_type,
        is_guardian_act=event.is_guardian_act,
        occurred_at=event.occurred_at,
        expires_at=event.expires_at if event.action == "grant" else None,
        refused_at=refused_at,
    )


def in_time_order(events: Iterable[ConsentEvent]) -> list[ConsentEvent]:
    """Events in the order they happened, ties in the order they were recorded."""
    return sorted(events, key=lambda e: (e.occurred_at, e.seq))


def fold(events: Iterable[ConsentEvent]) -> StateView | None:
    """Fold events into a state; ``None`` for no events. Any order in, time order applied."""
    state = None
    for event in in_time_order(events):
        state = apply(state, event)
    return state
