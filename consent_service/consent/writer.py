"""Writing to people's chains: events planned in memory, then written in a few statements.

:class:`ChainWriter` is the one way events are written, whether a person records one act, a
company sends a batch of a thousand, or the scheduled expiry sweep ends lapsed grants. It locks
the people's chains, appends events (each hashed onto its person's chain), moves their states
with the same :func:`~consent_service.consent.state.apply` that folds history, signs receipts,
queues webhooks, and writes it all with :mod:`consent_service.consent.rows`. The caller owns
the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from consent_service.consent.hashing import event_hash
from consent_service.consent.models import is_guardian_act
from consent_service.consent.rows import (
    Chain,
    EventRow,
    Writer,
    forget,
    history,
    load_states,
    lock_chains,
)
from consent_service.consent.state import StateView, apply, fold
from consent_service.errors import InvalidInput
from consent_service.ids import uuid7
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, PurposeVersion
from consent_service.receipts.service import sign_receipt, store_receipts
from consent_service.webhooks.service import emit_many, subscribers


@dataclass(frozen=True)
class Actor:
    """Who expressed an act: the subject, a guardian, an officer, or the system."""

    kind: str = "subject"
    name: str | None = None
    relationship: str | None = None
    reason: str | None = None

    @classmethod
    def from_value(cls, value: Actor | dict[str, Any] | None) -> Actor:
        """Accept an :class:`Actor`, a mapping with the same keys, or ``None`` (the subject)."""
        if value is None:
            return cls()
        if isinstance(value, Actor):
            return value
        if not isinstance(value, dict):
            raise InvalidInput("invalid actor", {"actor": ["must be an object"]})
        unknown = set(value) - {"kind", "name", "relationship", "reason"}
        if unknown:
            raise InvalidInput("invalid actor", {"actor": [f"unknown fields: {sorted(unknown)}"]})
        return cls(**value)

    @property
    def is_guardian(self) -> bool:
        return is_guardian_act(self.kind, self.relationship)


#: The webhook each action sends (PIPL 15: a withdrawal reaches the company at once).
WEBHOOK_EVENTS = {
    "grant": "consent.granted",
    "withdraw": "consent.withdrawn",
    "refuse": "consent.refused",
    "expire": "consent.expired",
    "invalidate": "consent.invalidated",
}


def webhook_data(chain: Chain, event: EventRow, state: StateView) -> dict[str, Any]:
    """What the ``consent.*`` webhook of ``event`` says."""
    return {
        "subject": chain.external_id,
        "purpose": event.purpose_code,
        "purpose_version": event.purpose_version,
        "action": event.action,
        "consent_type": event.consent_type,
        "consent_event_id": event.uuid,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "expires_at": event.expires_at.isoformat() if event.expires_at else None,
        "status": state.status,
    }


class ChainWriter:
    """Events for many people, planned in memory and written together by :meth:`write`.

    Nothing reaches the database before :meth:`write`, so a caller that finds a problem
    halfway simply does not call it.
    """

    def __init__(self, org: Organization, now: datetime, *, notify: bool = True) -> None:
        self.org = org
        self.now = now
        #: Queue a webhook per event (not for history being imported).
        self.notify = notify
        self.rows = Writer()
        self.chains: dict[str, Chain] = {}
        self.states: dict[tuple[int, int], StateView] = {}
        self.events: list[EventRow] = []
        self.touched: set[tuple[int, int]] = set()
        #: Pairs with a state row in the database (the others are inserted, not upserted).
        self.stored: set[tuple[int, int]] = set()
        self.receipts: list[tuple] = []
        self.webhooks: list[tuple[str, dict[str, Any], str]] = []
        self._wanted: dict[str, bool] = {}
        self._ids: Iterable[int] = iter(())

    def lock(self, external_ids: Iterable[str]) -> dict[str, Chain]:
        """Lock these people's chains (one statement, in id order)."""
        chains = lock_chains(self.org.id, external_ids)
        self.chains.update(chains)
        return chains

    def load_states(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Load the current states of these (subject id, purpose id) pairs (after locking).

        Every pair an event is appended to must have been loaded, or belong to a person
        created in this transaction (who has no states yet)."""
        found = load_states(pairs)
        self.states.update(found)
        self.stored.update(found)

    def reserve(self, count: int) -> None:
        """Reserve ids for up to ``count`` events (in one statement)."""
        self._ids = iter(self.rows.reserve_event_ids(count))

    def append(
        self,
        chain: Chain,
        version: PurposeVersion,
        policy: PolicyVersion | None,
        *,
        action: str,
        consent_type: str | None,
        method: str,
        actor: Actor,
        evidence: dict[str, Any],
        occurred_at: datetime,
        bundle_id: str,
        bundle_size: int,
        idempotency_key: str | None,
        is_subject_initiated: bool,
        idempotency_fingerprint: str | None = None,
    ) -> tuple[EventRow, StateView]:
        """Append one event to ``chain`` and move its state; return both."""
        occurred_at = occurred_at.astimezone(UTC)
        expires_at = None
        if action == "grant" and version.consent_validity_days:
            expires_at = occurred_at + timedelta(days=version.consent_validity_days)
        event = EventRow(
            id=next(self._ids),
            uuid=uuid7(),
            org_id=self.org.id,
            subject_id=chain.id,
            seq=chain.seq + 1,
            purpose_id=version.purpose_id,
            purpose_version=version.version,
            policy_version_id=policy.id if policy else None,
            policy_seq=policy.seq if policy else 0,
            action=action,
            consent_type=consent_type if action == "grant" else None,
            actor_kind=actor.kind,
            actor_name=actor.name,
            actor_relationship=actor.relationship,
            actor_reason=actor.reason,
            method=method,
            evidence=dict(evidence),
            is_subject_initiated=is_subject_initiated,
            bundle_id=bundle_id,
            bundle_size=bundle_size,
            idempotency_key=idempotency_key,
            idempotency_fingerprint=idempotency_fingerprint,
            occurred_at=occurred_at,
            recorded_at=self.now,
            expires_at=expires_at,
            prev_hash=chain.head,
            purpose_code=version.purpose.code,
            policy_label=policy.label if policy else None,
        )
        event.hash = event_hash(event, event.purpose_code)
        chain.seq, chain.head, chain.touched = event.seq, event.hash, True
        self.events.append(event)
        key = (chain.id, version.purpose_id)
        state = self._project(key, event)
        self.states[key] = state
        self.touched.add(key)
        if self._wants(WEBHOOK_EVENTS[action]):
            self.webhooks.append(
                (WEBHOOK_EVENTS[action], webhook_data(chain, event, state), chain.external_id)
            )
        return event, state

    def _wants(self, event_type: str) -> bool:
        """Whether any endpoint of the organization subscribes to ``event_type`` (asked once)."""
        if not self.notify:
            return False
        if event_type not in self._wanted:
            self._wanted[event_type] = bool(subscribers(self.org, event_type))
        return self._wanted[event_type]

    def _project(self, key: tuple[int, int], event: EventRow) -> StateView:
        """The state after ``event``. An event recorded after one that happened later (a late
        paper form) is placed in time by folding the pair's whole history again."""
        state = self.states.get(key)
        if state is not None and event.occurred_at < state.occurred_at:
            pending = [e for e in self.events if (e.subject_id, e.purpose_id) == key]
            return fold([*history(*key), *pending])
        return apply(state, event)

    def receipt(
        self, chain: Chain, event: EventRow, version: PurposeVersion, policy: PolicyVersion | None
    ) -> str:
        """Sign the receipt of a grant; it is stored with the event by :meth:`write`."""
        record, token = sign_receipt(self.org, chain.external_id, event, version, policy, self.now)
        self.receipts.append(record)
        return token

    def write(self) -> None:
        """Write every planned event, state, chain head, receipt and webhook."""
        if not self.events:
            return
        self.rows.insert_events(self.events)
        state_row = self.rows.state_tuple
        self.rows.upsert_states(
            [state_row(key, self.org.id, self.states[key]) for key in sorted(self.touched & self.stored)]
        )
        self.rows.insert_states(
            [state_row(key, self.org.id, self.states[key]) for key in sorted(self.touched - self.stored)]
        )
        self.rows.update_heads(self.chains.values(), self.now)
        store_receipts(self.receipts, self.now)
        emit_many(self.org, self.webhooks, self.now)
        forget([c.id for c in self.chains.values() if c.touched], self.touched)
