"""Canonical JSON written from a template must be byte for byte what the encoder writes:
signatures and hashes are over those bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consent_service.canonical import Template, canonical_json, json_value

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.text(max_size=20),  # any characters: Chinese, quotes, backslashes, control characters
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
keys = st.text(min_size=1, max_size=8)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=scalars)  # lists and objects are written by canonical_json itself
def test_json_value_is_what_canonical_json_writes(value):
    assert json_value(value).encode() == canonical_json(value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    shared=st.dictionaries(keys, values, max_size=6),
    nested=st.dictionaries(keys, values, max_size=4),
    slots=st.lists(st.tuples(st.booleans(), keys), min_size=1, max_size=6, unique_by=lambda s: s),
    data=st.data(),
)
def test_a_rendered_template_is_the_canonical_json_of_the_filled_document(shared, nested, slots, data):
    document = shared | {"nested": nested}
    paths = []
    for is_nested, key in slots:
        path = ("nested", key) if is_nested else (key,)
        if path not in paths and path != ("nested",):
            paths.append(path)
    filled_values = [data.draw(values) for _ in paths]
    expected = document | {"nested": dict(nested)}
    for path, value in zip(paths, filled_values, strict=True):
        (expected if len(path) == 1 else expected["nested"])[path[-1]] = value
    assert Template(document, paths).render(filled_values) == canonical_json(expected)
