"""The console's audit pages: the trail filtered and paged with staff named and changes shown
as field, before and after; wrong filters said beside their field; the check of the trail;
exports as CSV and JSON Lines that stream, hold the chain and are themselves recorded; and
sign-in, failures, locks, second factors, resets and sign-out in the trail."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select, text

from consent_service.audit import trail
from consent_service.audit.jobs import verify_all
from consent_service.audit.models import AuditEntry
from consent_service.audit.trail_export import entry_from_csv
from tests.factories import make_org
from tests.staff.console_support import sign_in_as
from tests.staff.test_console_sign_in import enrol, invite, post_form, sign_in
from tests.staff.test_console_sign_in import token as csrf_of


@pytest.fixture
def org(db, clock):
    return make_org(clock.now(), "shop")


@pytest.fixture
def auditor(client, org, clock):
    return sign_in_as(client, org, clock, "auditor")


def entries_of(db, org, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.org_id == org.id)
    if action:
        query = query.where(AuditEntry.action == action)
    db.session.expire_all()
    return list(db.session.scalars(query.order_by(AuditEntry.seq)))


def page(client, query: str = "", status: int = 200) -> str:
    answer = client.get(f"/console/shop/audit?lang=en&{query}")
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


def shown_seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r"<tr>\s*<td>(\d+)</td>", html)]


def test_the_trail_shows_entries_newest_first_with_names_and_changes(client, db, org, clock, auditor):
    trail.record(
        org.id,
        "staff",
        f"staff:{auditor.id}",
        "console:request.assign",
        "rights_request:r-1",
        "ok",
        {"before": {"assigned_to": None}, "after": {"assigned_to": auditor.id}, "note_length": 12},
        now=clock.now(),
    )
    trail.record(
        org.id, "client", "cs_1", "api:PUT /subjects/<external_id>", "external_id:u-1", "201", now=clock.now()
    )
    db.session.commit()
    html = page(client)
    newest, assigned = shown_seqs(html)[:2]
    assert newest > assigned
    assert "Li Lei" in html and f"staff:{auditor.id}" in html  # the member's name beside the id
    assert "console:request.assign" in html and "rights_request:r-1" in html
    assert re.search(rf"<td>assigned_to</td><td>—</td><td>{auditor.id}</td>", html)
    assert "note_length" in html
    assert "2026年" not in html and "Nov 2, 2026" in html  # the reader's language, Shanghai time
    head = trail.trail_head(org.id)
    assert f"entry #{head[0]}" in html and head[1] in html
    assert 'aria-current="page">Audit trail</a>' in html


def test_staff_names_are_read_in_one_query_for_the_page(client, db, org, clock, auditor, app):
    from sqlalchemy import event

    for i in range(5):
        trail.record(org.id, "staff", f"staff:{auditor.id + i}", "console:x", None, "ok", now=clock.now())
    db.session.commit()
    statements = []
    engine = db.session.get_bind().engine

    def count(conn, cursor, statement, *args):
        if "staff_member" in statement and "audit" not in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page(client)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The session's member, and the names of the page's staff: not one query per row.
    assert len([s for s in statements if " IN " in s.upper()]) == 1


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("actor_kind=client", {"cs_1", "cs_2"}),
        ("actor=cs_2", {"cs_2"}),
        ("action=api:", {"cs_1", "cs_2"}),
        ("action=job:expiry", {"expiry"}),
        ("from=2026-11-03&to=2026-11-03", {"expiry"}),
        ("to=2026-11-02&actor_kind=client", {"cs_1"}),
    ],
)
def test_each_filter(client, db, org, clock, auditor, query, kept):
    trail.record(org.id, "client", "cs_1", "api:PUT /subjects/<external_id>", None, "201", now=clock.now())
    trail.record(
        org.id,
        "client",
        "cs_2",
        "api:DELETE /subjects/<external_id>",
        None,
        "204",
        now=clock.now() + timedelta(days=2),
    )
    trail.record(org.id, "job", "expiry", "job:expiry", None, "ok", now=clock.now() + timedelta(hours=15))
    db.session.commit()
    html = page(client, query)
    actors = set(re.findall(r"<td><code>([^<]+)</code><br>", html))
    assert actors - {a for a in actors if a.startswith("staff:")} == kept


def test_pages_of_one_hundred_with_an_older_link(client, db, org, clock, auditor):
    for _ in range(205):
        trail.record(org.id, "client", "cs_1", "api:x", None, "ok", now=clock.now())
    db.session.commit()
    html = page(client, "action=api:x")
    seqs = shown_seqs(html)
    assert len(seqs) == 100 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="([^"]+before_seq=(\d+)[^"]*)" rel="next"', html)
    assert int(older.group(2)) == seqs[-1] and "action=api:x" in older.group(1)
    second = page(client, f"action=api:x&before_seq={older.group(2)}")
    assert shown_seqs(second) == [s - 100 for s in seqs] and "Newest" in second
    last = re.search(r'before_seq=(\d+)[^"]*" rel="next"', second).group(1)
    third = page(client, f"action=api:x&before_seq={last}")
    assert len(shown_seqs(third)) == 5 and 'rel="next"' not in third


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-02-30", "from", "Enter a date such as 2026-11-02."),
        ("to=soon", "to", "Enter a date such as 2026-11-02."),
        ("from=2026-11-05&to=2026-11-04", "to", "The last day is before the first day."),
        ("actor_kind=robot", "actor-kind", "Choose one of the kinds in the list."),
    ],
)
def test_a_wrong_filter_is_a_400_with_the_message_beside_the_field(client, auditor, query, field, message):
    html = page(client, query, 400)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    assert f'aria-describedby="{field}-error"' in html
    assert client.get(f"/console/shop/audit/export.csv?{query}&lang=en").status_code == 400


def test_the_pages_in_chinese(client, auditor):
    html = client.get("/console/shop/audit?lang=zh").get_data(as_text=True)
    assert "审计日志" in html


def test_the_check_says_intact_or_names_the_first_broken_entry(client, db, org, clock, auditor):
    for _ in range(3):
        trail.record(org.id, "client", "cs_1", "api:x", None, "ok", now=clock.now())
    db.session.commit()
    html = client.get("/console/shop/audit/verify?lang=en").get_data(as_text=True)
    assert "intact" in html and "broken" not in html
    [second_api] = [e for e in entries_of(db, org, "api:x")][1:2]
    db.session.execute(
        text("UPDATE audit_entry SET outcome = 'refused' WHERE id = :id"), {"id": second_api.id}
    )
    db.session.commit()
    html = client.get("/console/shop/audit/verify?lang=en").get_data(as_text=True)
    assert f"First broken: audit entry #{second_api.seq}: content does not match its hash" in html


def read_csv(answer) -> list[dict]:
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def test_the_csv_export_streams_every_entry_with_its_chain(client, db, org, clock, auditor):
    trail.record(
        org.id,
        "staff",
        f"staff:{auditor.id}",
        "console:request.assign",
        "rights_request:r-1",
        "ok",
        {"before": {"assigned_to": None}, "after": {"assigned_to": auditor.id}},
        now=clock.now(),
    )
    db.session.commit()
    answer = client.get("/console/shop/audit/export.csv?lang=en", buffered=False)
    assert answer.is_streamed and answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="audit-trail-shop-\d{8}T\d{6}Z\.csv"', answer.headers["Content-Disposition"]
    )
    rows = read_csv(answer)
    answer.close()
    stored = entries_of(db, org)
    assert [int(row["seq"]) for row in rows] == [e.seq for e in stored]  # the export's own entry too
    prev_hash = None
    for row, entry in zip(rows, stored, strict=True):
        read_back = entry_from_csv(row)
        assert trail.entry_hash(read_back) == row["hash"] == entry.hash
        assert read_back["prev_hash"] == prev_hash
        assert (read_back["actor"], read_back["action"], read_back["details"]) == (
            entry.actor,
            entry.action,
            entry.details,
        )
        prev_hash = row["hash"]


def test_the_jsonl_export_holds_the_filtered_entries(client, db, org, clock, auditor):
    trail.record(
        org.id, "client", "cs_1", "api:x", "external_id:u-1", "201", {"after": {"n": 1}}, now=clock.now()
    )
    db.session.commit()
    answer = client.get("/console/shop/audit/export.jsonl?lang=en&actor_kind=client&before_seq=1")
    assert answer.status_code == 200 and answer.headers["Content-Disposition"].endswith('.jsonl"')
    [line] = [json.loads(line) for line in answer.get_data(as_text=True).splitlines()]
    [entry] = entries_of(db, org, "api:x")
    assert line == {
        "org_id": org.id,
        "seq": entry.seq,
        "at": "2026-11-02T02:00:00.000000+00:00",
        "actor_kind": "client",
        "actor": "cs_1",
        "action": "api:x",
        "target": "external_id:u-1",
        "outcome": "201",
        "details": {"after": {"n": 1}},
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
    assert trail.entry_hash({**line, "at": datetime.fromisoformat(line["at"])}) == entry.hash


def test_an_export_is_recorded_when_it_starts(client, db, org, clock, auditor):
    answer = client.get(
        "/console/shop/audit/export.csv?lang=en&actor_kind=staff&from=2026-11-01", buffered=False
    )
    [entry] = entries_of(db, org, "console:audit.export")  # before a byte was read
    answer.close()
    assert (entry.actor_kind, entry.actor) == ("staff", f"staff:{auditor.id}")
    assert (entry.target, entry.outcome) == (f"audit_trail:{org.id}", "ok")
    assert entry.details == {"format": "csv", "filters": {"actor_kind": "staff", "from": "2026-11-01"}}
    client.get("/console/shop/audit/export.jsonl?lang=en").close()
    assert [e.details["format"] for e in entries_of(db, org, "console:audit.export")] == ["csv", "jsonl"]


def test_a_wrong_export_filter_records_nothing(client, db, org, auditor):
    assert client.get("/console/shop/audit/export.csv?from=x&lang=en").status_code == 400
    assert entries_of(db, org, "console:audit.export") == []


# Sign-in accountability: the organization's trail says who signed in, failed, was locked out.


def test_a_sign_in_and_a_sign_out_are_recorded(client, db, org, clock):
    member, path = invite(org, clock)
    enrol(client, path)
    assert sign_in(client).status_code == 303
    [entry] = entries_of(db, org, "console:sign_in")
    assert (entry.actor_kind, entry.actor, entry.outcome) == ("staff", f"staff:{member.id}", "ok")
    assert entry.target == f"staff_member:{member.id}"
    post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en")
    [out] = entries_of(db, org, "console:sign_out")
    assert out.actor == f"staff:{member.id}"


def test_a_known_members_failure_and_lockout_are_recorded_without_the_address(client, db, org, clock):
    member, path = invite(org, clock)
    enrol(client, path)
    for _ in range(5):
        assert sign_in(client, password="not the password").status_code == 401
    assert sign_in(client).status_code == 401  # locked
    failed = entries_of(db, org, "console:sign_in")
    assert [e.outcome for e in failed] == ["failed"] * 6
    assert [e.details["reason"] for e in failed] == ["password"] * 5 + ["locked"]
    assert {e.actor for e in failed} == {f"staff:{member.id}"}
    [lock] = entries_of(db, org, "console:lockout")
    assert lock.details["minutes"] == 15
    dumped = repr(db.session.execute(text("SELECT * FROM audit_entry")).all())
    assert "officer@shop.example" not in dumped and "shop.example" not in dumped


def test_an_unknown_address_leaves_no_entry(client, db, org, clock):
    assert sign_in(client, email="nobody@shop.example").status_code == 401
    reset = "/console/shop/reset?lang=en"
    assert post_form(client, reset, reset, email="nobody@shop.example").status_code == 200
    assert entries_of(db, org) == []


def test_second_factor_failures_recovery_codes_and_resets_are_recorded(client, db, org, clock):
    member, path = invite(org, clock, role="admin", email="admin@shop.example")
    enrol(client, path)
    setup = client.get("/console/shop/sign-in/totp-setup?lang=en")
    secret = re.search(r"secret=([A-Z2-7]+)", setup.get_data(as_text=True)).group(1)
    answer = client.post(
        "/console/shop/sign-in/totp-setup?lang=en",
        data={"csrf_token": csrf_of(setup), "code": pyotp.TOTP(secret).at(clock.now())},
    )
    codes = re.findall(r"<code>([a-z2-9]{4}(?:-[a-z2-9]{4}){3})</code>", answer.get_data(as_text=True))
    post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en")
    sign_in(client, email="admin@shop.example")
    second = "/console/shop/sign-in/second-factor?lang=en"
    wrong = "000000" if pyotp.TOTP(secret).at(clock.now()) != "000000" else "111111"
    assert post_form(client, second, second, code=wrong).status_code == 401
    assert post_form(client, second, second, code=codes[0]).status_code == 303
    [failure] = entries_of(db, org, "console:second_factor")
    assert (failure.actor, failure.outcome, failure.details) == (
        f"staff:{member.id}",
        "failed",
        {"reason": "code"},
    )
    [used] = entries_of(db, org, "console:recovery_code")
    assert used.details == {"remaining": 9}
    assert entries_of(db, org, "console:sign_in")[-1].details == {"second_factor": "recovery"}

    from tests.staff.test_accounts import mails

    post_form(client, "/console/shop/?lang=en", "/console/sign-out?lang=en")
    reset = "/console/shop/reset?lang=en"
    post_form(client, reset, reset, email="admin@shop.example")
    (mail,) = mails(db, org, "staff.password_reset")
    reset_path = re.search(r"https://consent\.test(/console/reset/\S+)", mail.text).group(1)
    post_form(client, reset_path + "?lang=en", reset_path + "?lang=en", password="a brand new password")
    assert [e.actor for e in entries_of(db, org, "console:password_reset_request")] == [f"staff:{member.id}"]
    assert [e.actor for e in entries_of(db, org, "console:password_reset")] == [f"staff:{member.id}"]


def test_the_check_page_states_the_ledgers_last_full_verification(client, db, org, clock, auditor):
    html = client.get("/console/shop/audit/verify?lang=en").get_data(as_text=True)
    assert "The ledger has not been verified in full yet" in html
    verify_all(org.slug)
    db.session.commit()
    html = client.get("/console/shop/audit/verify?lang=en").get_data(as_text=True)
    assert "last full verification</h2>" in html
    assert "0 events, 0 receipts and 0 checkpoints checked." in html and "broken" not in html
    zh = client.get("/console/shop/audit/verify?lang=zh").get_data(as_text=True)
    assert "账本最近一次完整核验" in zh and "已核验 0 个事件" in zh
