"""Importing a consent history (``flask consents import``): chains and state come out exactly as
if each act had been recorded online, and a bad row stops the import with nothing written."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from consent_service.audit.verify import verify_organization
from consent_service.consent.bulk import ImportRefused, import_acts, read_rows
from consent_service.consent.decisions import decide
from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.consent.state import fold
from tests.factories import grant, make_contract_purpose, make_org, make_purpose, make_subject, publish_policy


@pytest.fixture
def org(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "ads", consent_validity_days=30)
    make_purpose(org, clock.now(), "face", pi_categories=["biometric"], consent_requirement="separate")
    make_contract_purpose(org, clock.now(), "orders")
    publish_policy(org, clock.now(), "v1")
    return org


def at(clock, days: float = 0) -> str:
    return (clock.now() - timedelta(days=100) + timedelta(days=days)).isoformat()


def rows(*items: dict) -> list[tuple[int, dict]]:
    return list(enumerate(items, start=1))


def assert_consistent(db, org) -> None:
    """Chains verify and every state row equals the fold of its events."""
    assert verify_organization(org).ok
    for state in db.session.scalars(select(ConsentState).where(ConsentState.org_id == org.id)):
        events = db.session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.subject_id == state.subject_id, ConsentEvent.purpose_id == state.purpose_id
            )
        ).all()
        view = fold(events)
        assert (state.status, state.event_id, state.expires_at, state.refused_at) == (
            view.status,
            view.event_id,
            view.expires_at,
            view.refused_at,
        )


def test_import_builds_chains_state_and_decisions(db, clock, org):
    existing = make_subject(org, clock.now(), "old")
    grant(
        org, existing, clock.now(), "marketing", occurred_at=clock.now() - timedelta(days=1)
    )  # online, earlier
    report = import_acts(
        org,
        rows(
            {
                "subject": "a",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "occurred_at": at(clock, 1),
            },
            {"subject": "a", "purpose": "marketing", "action": "withdraw", "occurred_at": at(clock, 2)},
            {
                "subject": "b",
                "purpose": "face",
                "action": "grant",
                "consent_type": "separate",
                "occurred_at": at(clock, 1),
                "policy_version": "v1",
                "notice_sha256": "a" * 64,
            },
            {"subject": "b", "purpose": "ads", "action": "refuse", "occurred_at": at(clock, 3)},
            {"subject": "old", "purpose": "marketing", "action": "withdraw", "occurred_at": at(clock, 99.9)},
            {"subject": "c", "purpose": "marketing", "action": "withdraw", "occurred_at": at(clock, 1)},
        ),
        clock.now(),
    )
    assert (report.rows, report.events, report.skipped, report.subjects_created) == (6, 5, 1, 3)
    assert_consistent(db, org)
    now = clock.now()
    assert decide(org, "a", "marketing", now, now).reason == "withdrawn"
    assert decide(org, "b", "face", now, now).allowed
    assert decide(org, "b", "ads", now, now).reason == "refused"
    assert decide(org, "old", "marketing", now, now).reason == "withdrawn"
    old = db.session.get(Subject, existing.id)
    assert old.chain_seq == 2
    event = db.session.scalars(select(ConsentEvent).where(ConsentEvent.policy_seq == 1)).one()
    assert event.evidence == {"notice_sha256": "a" * 64} and event.method == "import"


def test_late_rows_are_placed_in_time(db, clock, org):
    import_acts(
        org,
        rows(
            {"subject": "a", "purpose": "ads", "action": "withdraw", "occurred_at": at(clock, 5)},
            {
                "subject": "a",
                "purpose": "ads",
                "action": "grant",
                "consent_type": "explicit",
                "occurred_at": at(clock, 10),
            },
            {"subject": "a", "purpose": "ads", "action": "refuse", "occurred_at": at(clock, 4)},
        ),
        clock.now(),
    )
    assert_consistent(db, org)
    state = db.session.scalars(select(ConsentState)).one()
    assert state.status == "granted"


def test_chunks_carry_chains_across(db, clock, org):
    items = [
        {
            "subject": f"p{n % 7}",
            "purpose": ("marketing", "ads")[n % 2],
            "occurred_at": at(clock, n / 10),
            "action": "grant" if n % 3 else "withdraw",
            "consent_type": "explicit",
        }
        for n in range(200)
    ]
    report = import_acts(org, rows(*items), clock.now(), chunk_size=17)
    assert report.rows == 200
    assert_consistent(db, org)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"purpose": "marketing", "action": "grant", "consent_type": "explicit"}, "subject"),
        (
            {"subject": "a", "purpose": "nope", "action": "grant", "consent_type": "explicit"},
            "unknown purpose",
        ),
        ({"subject": "a", "purpose": "marketing", "action": "approve"}, "action"),
        ({"subject": "a", "purpose": "marketing", "action": "grant"}, "consent_type"),
        ({"subject": "a", "purpose": "orders", "action": "grant", "consent_type": "explicit"}, "PIPL 13"),
        ({"subject": "a", "purpose": "face", "action": "grant", "consent_type": "explicit"}, "stronger"),
        (
            {
                "subject": "a",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "actor_kind": "guardian",
            },
            "guardian",
        ),
        (
            {
                "subject": "a",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "policy_version": "v9",
            },
            "not published",
        ),
        (
            {
                "subject": "a",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "occurred_at": "yesterday",
            },
            "ISO 8601",
        ),
        (
            {
                "subject": "a",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "occurred_at": "2026-01-01T00:00:00",
            },
            "time zone",
        ),
        (
            {
                "subject": "a",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "method": "carrier-pigeon",
            },
            "method must be one of",
        ),
    ],
)
def test_a_bad_row_stops_the_import_and_names_its_line(db, clock, org, row, message):
    row.setdefault("occurred_at", at(clock))
    good = {
        "subject": "z",
        "purpose": "marketing",
        "action": "grant",
        "consent_type": "explicit",
        "occurred_at": at(clock),
    }
    with pytest.raises(ImportRefused, match=f"line 2: .*{message}"):
        import_acts(org, rows(good, row), clock.now())


def test_a_child_needs_a_guardian(db, clock, org):
    make_subject(org, clock.now(), "kid", birth_date=date(2018, 1, 1))
    base = {
        "subject": "kid",
        "purpose": "marketing",
        "action": "grant",
        "consent_type": "explicit",
        "occurred_at": at(clock),
    }
    with pytest.raises(ImportRefused, match="PIPL 31"):
        import_acts(org, rows(base), clock.now())
    guardian = base | {"actor_kind": "guardian", "actor_name": "Mum", "actor_relationship": "mother"}
    assert import_acts(org, rows(guardian), clock.now()).events == 1


def test_cli_imports_csv_and_jsonl_and_refuses_without_writing(cli, db, clock, org, tmp_path):
    csv_file = tmp_path / "acts.csv"
    csv_file.write_text(
        "subject,purpose,action,consent_type,occurred_at\n"
        f"a,marketing,grant,explicit,{at(clock, 1)}\n"
        f"a,marketing,withdraw,,{at(clock, 2)}\n"
    )
    result = cli.invoke(args=["consents", "import", str(csv_file), "--org", org.slug])
    assert result.exit_code == 0, result.output
    assert "imported 2 rows: 2 events" in result.output
    jsonl = tmp_path / "acts.jsonl"
    jsonl.write_text(
        json.dumps(
            {
                "subject": "b",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "occurred_at": at(clock, 1),
            }
        )
        + "\n"
        + "{not json}\n"
    )
    before = db.session.scalar(select(func.count()).select_from(ConsentEvent))
    result = cli.invoke(args=["consents", "import", str(jsonl), "--org", org.slug])
    assert result.exit_code == 1 and "line 2: not JSON" in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == before
    result = cli.invoke(args=["consents", "import", str(csv_file), "--org", "nope"])
    assert result.exit_code == 1 and "no organization" in result.output


def test_read_rows_skips_blank_lines(tmp_path):
    path = tmp_path / "x.ndjson"
    path.write_text('{"a": 1}\n\n{"b": 2}\n')
    assert list(read_rows(path)) == [(1, {"a": 1}), (3, {"b": 2})]


def test_an_import_sends_no_webhooks_while_online_acts_do(db, clock, org):
    """History from another platform is not news to the company: no deliveries are queued for
    it, even with an endpoint subscribed to every event."""
    from consent_service.webhooks.models import WebhookDelivery
    from consent_service.webhooks.service import create_endpoint

    create_endpoint(org, "https://hooks.example/consent", ["*"], clock.now())
    import_acts(
        org,
        rows(
            {
                "subject": "a",
                "purpose": "marketing",
                "action": "grant",
                "consent_type": "explicit",
                "occurred_at": at(clock),
            },
            {"subject": "a", "purpose": "marketing", "action": "withdraw", "occurred_at": at(clock, 1)},
        ),
        clock.now(),
    )
    deliveries = select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.org_id == org.id)
    assert db.session.scalar(deliveries) == 0
    grant(org, make_subject(org, clock.now(), "b"), clock.now(), "marketing")
    assert db.session.scalar(deliveries) == 1
