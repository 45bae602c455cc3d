"""Property test of the consent ledger: any sequence of acts keeps state and chain honest.

Hypothesis generates sequences of grants, withdrawals, refusals and invalidations on
several purposes of one organization, with the clock moving between acts, backdated
``occurred_at`` times in several time zones, ties, subject-initiated flags and officers or
guardians acting. Each sequence is applied through
:func:`consent_service.consent.service.record_act` to a fresh person. A naive model
written here, independently of :mod:`consent_service.consent.state`, predicts which acts
the service must refuse (48-hour re-prompt rule, bundling, consent type) and which events
it writes; the test then checks that

* a refused act writes nothing,
* the ledger holds exactly the predicted events, in order,
* every ``ConsentState`` row equals the state the event history implies (the latest act by
  ``(occurred_at, seq)`` wins; ``refused_at`` is the time of the latest refusal),
* the organization's hash chains verify (checkpointed first, as the scheduled job does: events
  days old that no checkpoint covers are themselves a finding).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.audit.verify import verify_organization
from consent_service.consent.models import ConsentEvent, ConsentState
from consent_service.consent.service import record_act
from consent_service.consent.writer import Actor
from consent_service.errors import (
    ConsentTypeInsufficient,
    DomainError,
    RepromptTooSoon,
    SeparateConsentRequired,
)
from consent_service.policies.models import Purpose
from tests.conftest import T0
from tests.factories import make_org, make_purpose, make_sensitive_purpose, make_subject

REPROMPT_WINDOW = timedelta(hours=48)
#: The model's own copy of the mapping from act to status (not imported on purpose).
STATUS_OF = {"grant": "granted", "withdraw": "withdrawn", "refuse": "refused", "invalidate": "invalidated"}
TYPE_RANK = {"implied": 1, "explicit": 2, "separate": 3, "written": 4}


@dataclass(frozen=True)
class PurposeSpec:
    """What the model knows of each purpose of the test organization."""

    min_type_rank: int
    separate: bool
    validity_days: int | None


SPECS = {
    "newsletter": PurposeSpec(min_type_rank=1, separate=False, validity_days=None),
    "ads": PurposeSpec(min_type_rank=2, separate=False, validity_days=30),
    "face": PurposeSpec(min_type_rank=3, separate=True, validity_days=None),
}

OFFICER = Actor(kind="officer", name="Officer Wang", reason="paper form received at the counter")
GUARDIAN_ON_PAPER = Actor(
    kind="officer", name="Officer Wang", relationship="mother", reason="guardian's signed form"
)
ACTORS = {"subject": None, "officer": OFFICER, "guardian_paper": GUARDIAN_ON_PAPER}

_subjects = itertools.count(1)


@dataclass(frozen=True)
class Act:
    """One generated act: how far the clock moves first, then what is recorded."""

    action: str
    purposes: tuple[str, ...]
    step_minutes: int
    offset_minutes: int
    subject_initiated: bool
    actor: str
    consent_type: str
    #: The time zone the caller expresses ``occurred_at`` in (the same instant either way).
    zone: timezone

    def actor_value(self) -> Actor | None:
        # Only an officer invalidates a consent.
        if self.action == "invalidate" and self.actor == "subject":
            return OFFICER
        return ACTORS[self.actor]


acts_strategy = st.builds(
    Act,
    action=st.sampled_from(
        ["grant", "grant", "grant", "withdraw", "withdraw", "refuse", "refuse", "invalidate"]
    ),
    # Mostly one purpose per act; sometimes a bundle (refused when it holds a separate one).
    purposes=st.one_of(
        st.sampled_from([("newsletter",), ("ads",), ("face",), ("newsletter",), ("ads",), ("face",)]),
        st.lists(st.sampled_from(sorted(SPECS)), min_size=2, max_size=3, unique=True).map(tuple),
    ),
    # Steps around the 48-hour window, and arbitrary ones; 0 makes equal recording times.
    step_minutes=st.one_of(
        st.sampled_from([0, 0, 1, 60, 47 * 60, 48 * 60, 49 * 60]),
        st.integers(min_value=0, max_value=72 * 60),
    ),
    # Negative: a backdated act (e.g. paper recorded late); up to +5 minutes of clock skew.
    offset_minutes=st.one_of(st.just(0), st.integers(min_value=-96 * 60, max_value=5)),
    subject_initiated=st.booleans(),
    actor=st.sampled_from(sorted(ACTORS)),
    consent_type=st.sampled_from(["separate", "separate", "separate", "written", "explicit", "implied"]),
    zone=st.sampled_from([UTC, UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]),
)


@dataclass(frozen=True)
class ModelEvent:
    """An event as the model expects it to be written."""

    seq: int
    purpose: str
    action: str
    occurred_at: datetime
    consent_type: str | None
    is_guardian_act: bool
    is_subject_initiated: bool
    expires_at: datetime | None


def _latest(events):
    """The act that happened last; ties go to the one recorded last."""
    return max(events, key=lambda e: (e.occurred_at, e.seq))


def _model_status(events: list[ModelEvent], purpose: str) -> str | None:
    mine = [e for e in events if e.purpose == purpose]
    return STATUS_OF[_latest(mine).action] if mine else None


def _expected_errors(events: list[ModelEvent], act: Act, occurred_at: datetime) -> set[type]:
    """The refusals a grant may meet; the service raises one of them (or none if empty)."""
    if act.action != "grant":
        return set()
    errors: set[type] = set()
    if len(act.purposes) > 1 and any(SPECS[p].separate for p in act.purposes):
        errors.add(SeparateConsentRequired)
    if any(TYPE_RANK[act.consent_type] < SPECS[p].min_type_rank for p in act.purposes):
        errors.add(ConsentTypeInsufficient)
    if not act.subject_initiated:
        for purpose in act.purposes:
            refusals = [e.occurred_at for e in events if e.purpose == purpose and e.action == "refuse"]
            if refusals and max(refusals) <= occurred_at < max(refusals) + REPROMPT_WINDOW:
                errors.add(RepromptTooSoon)
    return errors


def _predicted_writes(events: list[ModelEvent], act: Act, occurred_at: datetime) -> list[ModelEvent]:
    if act.action in ("withdraw", "invalidate"):
        # Withdrawing (or invalidating) what is not in force records nothing.
        targets = [p for p in act.purposes if _model_status(events, p) == "granted"]
    else:
        targets = list(act.purposes)
    actor = act.actor_value()
    written = []
    for index, purpose in enumerate(targets, start=len(events) + 1):
        validity = SPECS[purpose].validity_days
        is_grant = act.action == "grant"
        written.append(
            ModelEvent(
                seq=index,
                purpose=purpose,
                action=act.action,
                occurred_at=occurred_at,
                consent_type=act.consent_type if is_grant else None,
                is_guardian_act=actor is not None and actor.relationship is not None,
                is_subject_initiated=act.subject_initiated,
                expires_at=occurred_at + timedelta(days=validity) if is_grant and validity else None,
            )
        )
    return written


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "newsletter", consent_requirement="consent")
    make_purpose(org, clock.now(), "ads", consent_validity_days=30)
    make_sensitive_purpose(org, clock.now(), "face")
    return org


def _event_count(db, subject_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ConsentEvent).where(ConsentEvent.subject_id == subject_id)
    )


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(acts=st.lists(acts_strategy, min_size=4, max_size=16))
def test_state_always_equals_the_history_and_chain_verifies(db, clock, org, acts):
    clock.at = T0
    subject = make_subject(org, clock.now(), external_id=f"prop-{next(_subjects)}")
    model: list[ModelEvent] = []

    for act in acts:
        now = clock.advance(minutes=act.step_minutes)
        occurred_at = (now + timedelta(minutes=act.offset_minutes)).astimezone(act.zone)
        expected_errors = _expected_errors(model, act, occurred_at)
        before = _event_count(db, subject.id)
        try:
            result = record_act(
                org,
                subject,
                now,
                purposes=list(act.purposes),
                action=act.action,
                consent_type=act.consent_type if act.action == "grant" else None,
                actor=act.actor_value(),
                occurred_at=occurred_at,
                is_subject_initiated=act.subject_initiated,
            )
        except DomainError as exc:
            assert expected_errors, f"{act} was refused unexpectedly: {exc.message}"
            assert isinstance(exc, tuple(expected_errors)), f"{act}: {exc!r}, expected {expected_errors}"
            assert _event_count(db, subject.id) == before, f"refused {act} wrote events"
            event(f"{act.action} refused: {type(exc).__name__}")
            continue
        assert not expected_errors, f"{act} should have been refused with one of {expected_errors}"
        written = _predicted_writes(model, act, occurred_at)
        assert len(result.events) == len(written)
        assert _event_count(db, subject.id) == before + len(written)
        model.extend(written)
        event(f"{act.action} wrote {'some' if written else 'no'} events")
        if act.offset_minutes < 0:
            event("backdated act recorded")

    db.session.expire_all()  # read back what is stored, not the session's objects
    codes = {p.id: p.code for p in db.session.scalars(select(Purpose).where(Purpose.org_id == org.id))}
    stored = list(
        db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.subject_id == subject.id).order_by(ConsentEvent.seq)
        )
    )
    assert [
        ModelEvent(
            seq=e.seq,
            purpose=codes[e.purpose_id],
            action=e.action,
            occurred_at=e.occurred_at,
            consent_type=e.consent_type,
            is_guardian_act=e.is_guardian_act,
            is_subject_initiated=e.is_subject_initiated,
            expires_at=e.expires_at,
        )
        for e in stored
    ] == model

    states = {
        codes[s.purpose_id]: s
        for s in db.session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id))
    }
    assert set(states) == {codes[e.purpose_id] for e in stored}
    for code, state in states.items():
        history = [e for e in stored if codes[e.purpose_id] == code]
        winner = _latest(history)
        refusals = [e.occurred_at for e in history if e.action == "refuse"]
        assert (
            state.status,
            state.event_id,
            state.occurred_at,
            state.consent_type,
            state.is_guardian_act,
            state.purpose_version,
            state.policy_seq,
            state.expires_at,
            state.refused_at,
            state.org_id,
        ) == (
            STATUS_OF[winner.action],
            winner.id,
            winner.occurred_at,
            winner.consent_type,
            winner.is_guardian_act,
            winner.purpose_version,
            winner.policy_seq,
            winner.expires_at if winner.action == "grant" else None,
            max(refusals) if refusals else None,
            org.id,
        ), f"state of {code!r} disagrees with its history"

    create_checkpoint(org, clock.now())  # as the scheduled job would have, days ago
    report = verify_organization(org)
    assert report.ok, report.problems
