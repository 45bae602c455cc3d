"""The rows of each kind and their CSV and JSON Lines: the columns named once, values read
back equal to the ledger's, the period's bounds in the organization's zone, nothing personal,
and memory that does not grow with the rows."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pytest

from consent_service.consent.hashing import iso_utc
from consent_service.errors import InvalidInput
from consent_service.exports.rows import CONSENT_EVENTS, KINDS, RIGHTS_REQUESTS, export_period, stream_batches
from consent_service.exports.writers import Tally, chunks, csv_chunks, export_bytes, jsonl_chunks
from consent_service.rights import service as rights
from tests.exports.support import fill_events
from tests.factories import grant, make_org, make_purpose, make_subject, publish_policy

DAY = {"from": "2026-11-02", "to": "2026-11-02"}


def _text(db, kind, org, period_args, file_format="csv") -> str:
    period = export_period(period_args, org.timezone)
    batches = stream_batches(db.session.connection(), kind, org.id, period.starts_at, period.ends_at)
    return "".join(chunks(file_format, kind, batches))


@pytest.fixture
def shop(db, clock):
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "marketing")
    publish_policy(org, clock.now(), "v1")
    person = make_subject(org, clock.now(), "u-1", email="li@example.cn")
    grant(org, person, clock.now(), "marketing", policy_version="v1",
          evidence={"ip": "203.0.113.9", "user_agent": "Secret-Agent/1.0"})  # fmt: skip
    return org


def test_the_period_is_days_in_the_organizations_zone():
    period = export_period({"from": "2026-11-02", "to": "2026-11-03"}, "Asia/Shanghai")
    assert period.starts_at == datetime(2026, 11, 1, 16, 0, tzinfo=UTC)
    assert period.ends_at == datetime(2026, 11, 3, 16, 0, tzinfo=UTC)
    assert period.described() == {"from": "2026-11-02", "to": "2026-11-03"}


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ({}, {"from", "to"}),
        ({"from": "2026-13-01", "to": "2026-11-02"}, {"from"}),
        ({"from": "2026-11-03", "to": "2026-11-02"}, {"to"}),
    ],
)
def test_a_wrong_period_names_each_field(args, fields):
    with pytest.raises(InvalidInput) as refused:
        export_period(args, "Asia/Shanghai")
    assert set(refused.value.details) == fields


def test_consent_events_as_csv_read_back_as_the_ledger(db, shop):
    text = _text(db, CONSENT_EVENTS, shop, DAY)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(CONSENT_EVENTS.columns)
    (row,) = rows
    from consent_service.consent.models import ConsentEvent
    from consent_service.receipts.models import ConsentReceipt

    event = db.session.query(ConsentEvent).one()
    receipt = db.session.query(ConsentReceipt).one()
    assert row == {
        "event_uuid": event.uuid, "subject_external_id": "u-1", "seq": "1", "purpose_code": "marketing",
        "purpose_version": "1", "action": "grant", "consent_type": "explicit", "method": "api",
        "policy_version": "v1", "occurred_at": iso_utc(event.occurred_at),
        "recorded_at": iso_utc(event.recorded_at), "actor_kind": "subject", "is_guardian_act": "false",
        "receipt_id": receipt.receipt_id, "hash": event.hash, "prev_hash": event.prev_hash or "",
    }  # fmt: skip
    assert datetime.fromisoformat(row["occurred_at"]) == event.occurred_at


def test_consent_events_as_json_lines(db, shop):
    text = _text(db, CONSENT_EVENTS, shop, DAY, "jsonl")
    (line,) = [json.loads(line) for line in text.splitlines()]
    assert list(line) == list(CONSENT_EVENTS.columns)
    assert line["is_guardian_act"] is False and line["seq"] == 1 and line["policy_version"] == "v1"
    assert datetime.fromisoformat(line["recorded_at"]).tzinfo is not None


def test_no_personal_data_reaches_the_file(db, shop):
    for file_format in ("csv", "jsonl"):
        text = _text(db, CONSENT_EVENTS, shop, DAY, file_format)
        for personal in ("203.0.113.9", "Secret-Agent", "li@example.cn"):
            assert personal not in text


def test_the_period_bounds_are_kept(db, clock, shop):
    person = make_subject(shop, clock.now(), "u-2")
    # 2026-11-01 in Shanghai runs from 10-31 16:00 to 11-01 16:00 UTC.
    for at in (
        datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC),
        datetime(2026, 10, 31, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 15, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 1, 16, 0, tzinfo=UTC),
    ):
        grant(shop, person, clock.now(), "marketing", occurred_at=at)  # fmt: skip
    day = {"from": "2026-11-01", "to": "2026-11-01"}
    rows = list(csv.DictReader(io.StringIO(_text(db, CONSENT_EVENTS, shop, day))))
    times = sorted(datetime.fromisoformat(r["occurred_at"]) for r in rows)
    assert times == [datetime(2026, 10, 31, 16, 0, tzinfo=UTC), datetime(2026, 11, 1, 15, 59, 59, tzinfo=UTC)]


def test_another_organizations_rows_stay_out(db, clock, shop):
    other = make_org(clock.now(), "other")
    make_purpose(other, clock.now(), "marketing")
    grant(other, make_subject(other, clock.now(), "o-1"), clock.now(), "marketing")
    rows = list(csv.DictReader(io.StringIO(_text(db, CONSENT_EVENTS, shop, DAY))))
    assert [r["subject_external_id"] for r in rows] == ["u-1"]


def test_rights_requests_as_csv_and_json_lines(db, clock, shop):
    made = rights.create_request(shop, "u-1", "access", clock.now(), identity_verified_by="company",
                                 client_id="cs_x", details="send it all to li@example.cn")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(_text(db, RIGHTS_REQUESTS, shop, DAY))))
    (row,) = rows
    assert list(row) == list(RIGHTS_REQUESTS.columns)
    assert row["request_id"] == made.public_id and row["type"] == "access" and row["regime"] == made.regime
    assert row["received_at"] == iso_utc(made.received_at)
    assert row["due_at"] == iso_utc(made.due_at)
    assert (row["closed_at"], row["is_on_time"]) == ("", "")
    assert row["is_extended"] == "false" and row["paused_days"] == "0"
    text = _text(db, RIGHTS_REQUESTS, shop, DAY, "jsonl")
    (line,) = [json.loads(line) for line in text.splitlines()]
    assert line["request_id"] == made.public_id
    assert line["is_on_time"] is None and line["is_extended"] is False
    assert "li@example.cn" not in text and "send it all" not in text


def test_a_closed_request_says_whether_it_was_on_time(db, clock, shop):
    made = rights.create_request(shop, "u-1", "access", clock.now(), identity_verified_by="company",
                                 client_id="cs_x")  # fmt: skip
    made.closed_at = made.due_at - timedelta(days=1)
    db.session.flush()
    (line,) = [json.loads(x) for x in _text(db, RIGHTS_REQUESTS, shop, DAY, "jsonl").splitlines()]
    assert line["is_on_time"] is True
    made.closed_at = made.due_at + timedelta(days=1)
    db.session.flush()
    (line,) = [json.loads(x) for x in _text(db, RIGHTS_REQUESTS, shop, DAY, "jsonl").splitlines()]
    assert line["is_on_time"] is False


def test_an_empty_period_is_a_header_alone():
    kind = KINDS["consent_events"]
    assert "".join(csv_chunks(kind, [])) == ",".join(kind.columns) + "\n"
    assert "".join(jsonl_chunks(kind, [])) == ""


def _peak(db, org) -> tuple[int, int]:
    period = export_period({"from": "2026-11-01", "to": "2026-11-30"}, org.timezone)
    tracemalloc.start()
    try:
        lines = 0
        connection = db.session.connection()
        batches = stream_batches(connection, CONSENT_EVENTS, org.id, period.starts_at, period.ends_at)
        for chunk in csv_chunks(CONSENT_EVENTS, batches):
            lines += chunk.count("\n")
        return tracemalloc.get_traced_memory()[1], lines - 1
    finally:
        tracemalloc.stop()


def test_an_export_is_written_in_constant_memory(db, clock):
    small, large = make_org(clock.now(), "small"), make_org(clock.now(), "large")
    for org, count in ((small, 2_000), (large, 20_000)):
        purpose = make_purpose(org, clock.now(), "marketing")
        fill_events(db, org, make_subject(org, clock.now(), "p"), purpose, count, clock.now())
    _peak(db, small)  # statements compiled and cached
    small_peak, small_rows = _peak(db, small)
    large_peak, large_rows = _peak(db, large)
    assert (small_rows, large_rows) == (2_000, 20_000)
    # Holding every row would take ten times the memory; the writer holds a batch and a chunk.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


def test_days_are_plain_dates():
    assert export_period({"from": "2026-11-02", "to": "2026-11-02"}, "UTC").from_day == date(2026, 11, 2)


def test_the_file_is_the_same_whoever_writes_it(db, clock, shop):
    """On PostgreSQL the database writes the CSV (``COPY``); its bytes are the writer's, quotes,
    commas and line breaks in a value included, and the rows are counted."""
    named = 'u-2, "the second"\nline'
    grant(shop, make_subject(shop, clock.now(), named), clock.now(), "marketing")
    rights.create_request(
        shop, "u-1", "access", clock.now(), identity_verified_by="company", client_id="cs_x"
    )
    period = export_period(DAY, shop.timezone)
    written = {}
    for kind in (CONSENT_EVENTS, RIGHTS_REQUESTS):
        tally = Tally()
        connection = db.session.connection()
        chunks_written = export_bytes(
            connection, kind, "csv", shop.id, period.starts_at, period.ends_at, tally
        )
        written[kind.code] = b"".join(chunks_written)
        assert written[kind.code] == _text(db, kind, shop, DAY).encode()
        assert tally.rows == len(list(csv.DictReader(io.StringIO(written[kind.code].decode()))))
    assert b'"u-2, ""the second""\nline"' in written["consent_events"]
    assert written["consent_events"].count(b"\n") == 4  # the header, two rows, the line break quoted


AWKWARD = ['a,b', 'say "hi"', "two\nlines", "carriage\rreturn", "crlf\r\nend", '"', ",", " lead", "tail ",
           "中文，逗号,半角", "tab\there", "'single'", "x" * 190]  # fmt: skip


def test_the_databases_lines_read_back_as_the_values(db, clock, shop):
    """The database makes each line (SQLite: in the statement; PostgreSQL: ``COPY``): every
    awkward value reads back whole, and the bytes are the writer's wherever the writer quotes
    alike (it leaves a bare carriage return unquoted; the database quotes it)."""
    for n, value in enumerate(AWKWARD):
        grant(shop, make_subject(shop, clock.now(), f"{n}|{value}"), clock.now(), "marketing")
    period = export_period(DAY, shop.timezone)
    tally = Tally()
    connection = db.session.connection()
    bounds = (shop.id, period.starts_at, period.ends_at)
    written = b"".join(export_bytes(connection, CONSENT_EVENTS, "csv", *bounds, tally))
    rows = list(csv.DictReader(io.StringIO(written.decode(), newline="")))
    assert tally.rows == len(rows) == len(AWKWARD) + 1
    assert [r["subject_external_id"] for r in rows[1:]] == [f"{n}|{v}" for n, v in enumerate(AWKWARD)]
    assert rows[1]["occurred_at"] == iso_utc(clock.now()) and rows[1]["is_guardian_act"] == "false"
    expected = _text(db, CONSENT_EVENTS, shop, DAY)
    for value in ("carriage\rreturn", "crlf\r\nend"):  # the writer's one difference
        index = AWKWARD.index(value)
        expected = expected.replace(f"{index}|{value},", f'"{index}|{value}",')
    assert written.decode() == expected
