"""The consent routes build their answers by hand for speed; they must equal what the
documented marshmallow schemas (the OpenAPI document's) would give."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate

from consent_service.consent.api import _event_json, _state_json
from consent_service.consent.models import ConsentEvent
from consent_service.consent.schemas import DecisionBatchIn, DecisionPair, EventOut, StateOut
from consent_service.types import utc_representable
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


# --- the quick path of batch-decision items ---------------------------------------------------

_strings = st.one_of(
    st.text(max_size=3), st.text(min_size=60, max_size=70), st.text(min_size=195, max_size=205)
)
_values = st.one_of(
    _strings, st.none(), st.integers(), st.booleans(), st.lists(st.text(max_size=2), max_size=1)
)
_items = st.one_of(
    st.fixed_dictionaries({"subject": _strings, "purpose": _strings}),
    st.fixed_dictionaries({"subject": _values, "purpose": _values}),
    st.dictionaries(st.sampled_from(["subject", "purpose", "extra"]), _values, max_size=3),
    _values,
)


class _ReferenceBatchIn(Schema):
    """:class:`DecisionBatchIn` as plain marshmallow, without the quick path."""

    items = fields.List(fields.Nested(DecisionPair), required=True, validate=validate.Length(min=1))
    at = fields.AwareDateTime(validate=utc_representable)


def _load(schema: Schema, body: dict):
    try:
        return "ok", schema.load(body)
    except ValidationError as exc:
        return "error", exc.messages


@settings(max_examples=400, deadline=None, derandomize=True)
@given(items=st.one_of(st.lists(_items, max_size=6), _values))
def test_batch_decision_items_load_as_plain_marshmallow_would(items):
    """The quick path for plain pairs gives what marshmallow gives, and anything else still
    gets marshmallow's own per-item errors."""
    body = {"items": items}
    assert _load(DecisionBatchIn(), body) == _load(_ReferenceBatchIn(), body)
