"""The consent routes build their answers by hand for speed; they must equal what the
documented marshmallow schemas (the OpenAPI document's) would give."""

from __future__ import annotations

from datetime import timedelta

from consent_service.consent.api import _event_json, _state_json
from consent_service.consent.models import ConsentEvent
from consent_service.consent.schemas import EventOut, StateOut
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy


def test_hand_built_events_and_states_equal_the_schemas(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "ads", consent_validity_days=30)
    publish_policy(org, clock.now(), "v1")
    kid = make_subject(org, clock.now(), "kid", is_under_14=True)
    results = [
        grant(
            org,
            kid,
            clock.now(),
            "ads",
            policy_version="v1",
            method="paper",
            evidence={"document_ref": "form 7", "notice_sha256": "b" * 64},
            actor={"kind": "guardian", "name": "Mum", "relationship": "mother"},
            occurred_at=clock.now() - timedelta(hours=2),
        ),
        act(
            org,
            kid,
            clock.now(),
            "withdraw",
            "ads",
            actor={"kind": "guardian", "name": "Mum", "relationship": "mother"},
        ),
        act(org, kid, clock.now(), "refuse", "ads"),
    ]
    pairs = [pair for result in results for pair in zip(result.events, result.states, strict=True)]
    assert len(pairs) == 3
    for event, state in pairs:
        stored = db.session.get(ConsentEvent, event.id)
        assert _event_json(event) == EventOut().dump(stored)
        assert state.event_uuid == event.uuid
        assert _state_json("ads", state) == StateOut().dump(
            {"purpose": "ads", "consent_event_id": state.event_uuid} | vars(state)
        )
