"""Reading the audit trail: the filter (actor kind, actor, action or its prefix, days in the
organization's time zone), keyset pages newest first, and exports as CSV and JSON Lines that
hold every entry with its hashes, so that the chain is checked again from the file, streamed
from a server-side cursor in constant memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from consent_service.audit import trail
from consent_service.audit.models import AuditEntry, AuditHead
from consent_service.audit.trail_export import (
    EXPORT_COLUMNS,
    TrailFilter,
    csv_chunks,
    entry_from_csv,
    export_entries,
    exported,
    jsonl_chunks,
    trail_filter,
    trail_page,
)
from consent_service.errors import InvalidInput
from tests.factories import make_org


def fill_trail(db, org_id: int, count: int, start: datetime) -> None:
    """``count`` chained entries in ``org_id``'s trail, one a minute from ``start``, written in
    a few statements (what ``trail.record`` writes, without a round trip per entry)."""
    rows, prev_hash = [], None
    for seq in range(1, count + 1):
        entry = {
            "org_id": org_id,
            "seq": seq,
            "at": start + timedelta(minutes=seq),
            "actor_kind": "client",
            "actor": f"cs_{seq % 7}",
            "action": "api:PUT /subjects/<external_id>",
            "target": f"external_id:u-{seq}",
            "outcome": "201",
            "details": {"after": {"status": "granted", "n": seq}},
            "prev_hash": prev_hash,
        }
        entry["hash"] = prev_hash = trail.entry_hash(entry)
        rows.append(entry)
    for i in range(0, count, 5000):
        db.session.execute(insert(AuditEntry.__table__), rows[i : i + 5000])
    db.session.execute(insert(AuditHead.__table__).values(trail=org_id, seq=count, hash=prev_hash))
    db.session.flush()


@pytest.fixture
def org(db, clock):
    return make_org(clock.now(), "shop")


@pytest.fixture
def entries(db, org, clock):
    """Five entries: a client, a member of staff, a job, a command, the person."""
    at = clock.now()
    made = [
        trail.record(
            org.id, "client", "cs_1", "api:PUT /subjects/<external_id>", "external_id:u-1", "201", now=at
        ),
        trail.record(
            org.id,
            "staff",
            "staff:7",
            "console:request.assign",
            "rights_request:r1",
            "ok",
            {"before": {"assigned_to": None}, "after": {"assigned_to": 7}},
            now=at + timedelta(hours=13),
        ),
        trail.record(
            org.id,
            "job",
            "expiry",
            "job:expiry",
            None,
            "ok",
            {"result": {"ended": 2}},
            now=at + timedelta(hours=14, minutes=30),
        ),
        trail.record(
            org.id, "command", "orgs show", "command:orgs show", None, "ok", now=at + timedelta(days=1)
        ),
        trail.record(
            org.id,
            "subject",
            "u-1",
            "dashboard:withdraw",
            "purpose:marketing",
            "ok",
            now=at + timedelta(days=2),
        ),
    ]
    db.session.flush()
    return made


def seqs(org, **args) -> list[int]:
    rows, _ = trail_page(org.id, trail_filter(args, org.timezone))
    return [row["seq"] for row in rows]


def test_each_filter_keeps_what_it_names(org, entries):
    assert seqs(org) == [5, 4, 3, 2, 1]
    assert seqs(org, actor_kind="staff") == [2]
    assert seqs(org, actor="cs_1") == [1]
    assert seqs(org, action="console:") == [2]
    assert seqs(org, action="job:expiry") == [3]
    assert seqs(org, action="job:") == [3]
    assert seqs(org, action="job") == []  # exact unless it ends with a colon
    assert seqs(org, actor_kind="client", action="console:") == []


def test_a_period_is_days_in_the_organizations_zone_both_included(org, entries):
    # T0 is 10:00 in Shanghai on 2 November; +13 h is 23:00 that day, +14.5 h 00:30 the next.
    assert seqs(org, **{"from": "2026-11-02", "to": "2026-11-02"}) == [2, 1]
    assert seqs(org, **{"from": "2026-11-03", "to": "2026-11-03"}) == [4, 3]
    assert seqs(org, **{"from": "2026-11-04"}) == [5]
    assert seqs(org, to="2026-11-03") == [4, 3, 2, 1]
    chosen = trail_filter({"from": "2026-11-03", "to": "2026-11-03"}, "Asia/Shanghai")
    assert chosen.starts_at == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
    assert chosen.ends_at == datetime(2026, 11, 3, 16, 0, tzinfo=UTC)
    assert trail_filter({"from": "2026-11-03"}, "UTC").starts_at == datetime(2026, 11, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"actor_kind": "robot"}, "actor_kind"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-11-05", "to": "2026-11-04"}, "to"),
        ({"before_seq": "-3"}, "before_seq"),
        ({"before_seq": "x"}, "before_seq"),
    ],
)
def test_a_wrong_filter_names_its_field(args, field):
    with pytest.raises(InvalidInput) as refused:
        trail_filter(args, "Asia/Shanghai")
    assert list(refused.value.details) == [field]


def test_the_filter_as_kept_in_an_export_entry():
    chosen = trail_filter(
        {"actor_kind": "staff", "from": "2026-11-01", "to": "", "lang": "en"}, "Asia/Shanghai"
    )
    assert chosen.described() == {"actor_kind": "staff", "from": "2026-11-01"}
    assert chosen.from_day == date(2026, 11, 1) and chosen.to_day is None


def test_pages_by_seq_newest_first(db, org, clock):
    fill_trail(db, org.id, 250, clock.now())
    first, older = trail_page(org.id, TrailFilter())
    assert [row["seq"] for row in first] == list(range(250, 150, -1)) and older == 151
    second, older = trail_page(org.id, TrailFilter(before_seq=older))
    assert [row["seq"] for row in second] == list(range(150, 50, -1)) and older == 51
    last, older = trail_page(org.id, TrailFilter(before_seq=older))
    assert [row["seq"] for row in last] == list(range(50, 0, -1)) and older is None


def stored_entries(db, org) -> list[dict]:
    table = AuditEntry.__table__
    rows = db.session.execute(select(table).where(table.c.org_id == org.id).order_by(table.c.seq))
    return [exported(row) for row in rows.mappings()]


def assert_chain(entries: list[dict]) -> None:
    """Every entry's hash is right and links to the one before: the check an auditor runs."""
    prev_hash = None
    for entry in entries:
        assert trail.entry_hash(entry) == entry["hash"], entry["seq"]
        assert entry["prev_hash"] == prev_hash, entry["seq"]
        prev_hash = entry["hash"]


def test_the_csv_holds_every_entry_and_the_chain_checks_from_it(db, org, entries):
    text = "".join(csv_chunks(export_entries(org.id, TrailFilter())))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    assert [row["seq"] for row in rows] == ["1", "2", "3", "4", "5"]  # oldest first: the chain's order
    assert json.loads(rows[1]["details"]) == {"before": {"assigned_to": None}, "after": {"assigned_to": 7}}
    assert rows[1]["details"] == '{"after":{"assigned_to":7},"before":{"assigned_to":null}}'  # canonical
    read_back = [entry_from_csv(row) for row in rows]
    assert_chain(read_back)
    assert [{**e, "at": exported(e)["at"]} for e in read_back] == stored_entries(db, org)


def test_the_json_lines_hold_every_entry_and_the_chain_checks_from_them(db, org, entries):
    lines = "".join(jsonl_chunks(export_entries(org.id, TrailFilter()))).splitlines()
    read_back = [json.loads(line) for line in lines]
    assert read_back == stored_entries(db, org)
    assert_chain([{**e, "at": datetime.fromisoformat(e["at"])} for e in read_back])


def test_a_filtered_export_keeps_what_the_page_keeps(org, entries):
    chosen = trail_filter({"action": "console:"}, org.timezone)
    assert [e["seq"] for e in export_entries(org.id, chosen)] == [2]


def test_a_tampered_entry_shows_in_the_file(db, org, entries):
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(outcome="refused"))
    rows = list(csv.DictReader(io.StringIO("".join(csv_chunks(export_entries(org.id, TrailFilter()))))))
    with pytest.raises(AssertionError):
        assert_chain([entry_from_csv(row) for row in rows])


def _export_peak(org_id: int) -> tuple[int, int]:
    """The peak of memory allocated while exporting ``org_id``'s trail as CSV, and the rows."""
    tracemalloc.start()
    try:
        lines = 0
        for chunk in csv_chunks(export_entries(org_id, TrailFilter())):
            lines += chunk.count("\n")
        return tracemalloc.get_traced_memory()[1], lines - 1
    finally:
        tracemalloc.stop()


def test_an_export_streams_in_constant_memory(db, clock):
    small, large = make_org(clock.now(), "small"), make_org(clock.now(), "large")
    fill_trail(db, small.id, 2_000, clock.now())
    fill_trail(db, large.id, 20_000, clock.now())
    _export_peak(small.id)  # statements compiled and cached
    small_peak, small_rows = _export_peak(small.id)
    large_peak, large_rows = _export_peak(large.id)
    assert (small_rows, large_rows) == (2_000, 20_000)
    # Holding every row would take ten times the memory; a stream holds one batch at a time.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
