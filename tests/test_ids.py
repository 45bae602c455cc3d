"""Public ids: version 7 UUIDs, so that new rows go to the end of their unique index."""

from __future__ import annotations

import uuid

from consent_service.ids import uuid7


def test_uuid7_is_a_valid_version_7_rfc_9562_uuid():
    ids = [uuid7() for _ in range(1000)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert all(str(p) == i for p, i in zip(parsed, ids, strict=True))  # canonical text form
    assert len(set(ids)) == len(ids)


def test_uuid7_ids_made_later_sort_later(monkeypatch):
    """Ids from later milliseconds sort after earlier ones, as text and as numbers."""
    import consent_service.ids as ids

    ticks = iter(range(1_700_000_000_000_000_000, 1_700_000_000_100_000_000, 1_000_000))
    monkeypatch.setattr(ids.time, "time_ns", lambda: next(ticks))
    made = [uuid7() for _ in range(100)]
    assert made == sorted(made)
    assert [uuid.UUID(m).int for m in made] == sorted(uuid.UUID(m).int for m in made)
