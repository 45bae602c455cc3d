"""The scheduler enforces deadlines: reminders at 5, 2 and 1 working days before the due day,
once each, escalation at the deadline, catch-up after downtime without a flood, requests left
unverified ended after 30 days."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from consent_service.rights import actions, service
from consent_service.rights.models import RightsNotice
from consent_service.rights.sweeps import expire_unverified, send_due_notices
from consent_service.rights.timeline import timeline
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery
from tests.factories import make_subject
from tests.rights.conftest import OFFICER, mails


def deletion(org, clock):
    """A deletion request due Monday 2026-11-23 (15 working days from Monday 2026-11-02)."""
    request = service.create_request(
        org, "u-1", "deletion", clock.now(), identity_verified_by="company", client_id="cs_x"
    )
    actions.assign(org, request.public_id, "li.officer@shop.example", clock.now(), OFFICER)
    return request


def notices(db, request) -> dict[str, tuple]:
    rows = db.session.scalars(select(RightsNotice).where(RightsNotice.request_id == request.id))
    return {n.kind: (n.due_at, n.outcome) for n in rows}


def test_reminders_are_planned_at_working_days_before_the_due_day(db, org, person, clock):
    request = deletion(org, clock)
    # 09:00 Shanghai (01:00 UTC): 5 working days before Monday 11-23 is Monday 11-16, then
    # Thursday 11-19, Friday 11-20; the escalation at the due time.
    at = {kind: due for kind, (due, _) in notices(db, request).items()}
    assert at["reminder:5"].isoformat() == "2026-11-16T01:00:00+00:00"
    assert at["reminder:2"].isoformat() == "2026-11-19T01:00:00+00:00"
    assert at["reminder:1"].isoformat() == "2026-11-20T01:00:00+00:00"
    assert at["overdue"] == request.due_at
    assert set(at) == {"reminder:5", "reminder:2", "reminder:1", "overdue"}


def test_each_reminder_goes_out_once_and_escalation_at_the_deadline(db, org, person, clock):
    webhooks.create_endpoint(org, "https://hooks.example/in", ["*"], clock.now())
    request = deletion(org, clock)
    clock.at = notices(db, request)["reminder:5"][0]
    assert send_due_notices(clock.now()) == {"reminders": 1, "overdue": 0, "passed": 0}
    assert send_due_notices(clock.now())["reminders"] == 0  # a second run sends nothing
    assert request.at_risk and not request.overdue
    reminders = mails(db, org, "rights.reminder")
    assert sorted(m.to for m in reminders) == ["li.officer@shop.example", "pipo@shop.example"]
    for kind in ("reminder:2", "reminder:1"):
        clock.at = notices(db, request)[kind][0]
        assert send_due_notices(clock.now())["reminders"] == 1
    clock.at = request.due_at + timedelta(seconds=1)
    assert send_due_notices(clock.now())["overdue"] == 1
    assert send_due_notices(clock.now())["overdue"] == 0
    assert request.overdue
    assert len(mails(db, org, "rights.escalation")) == 2
    types = [d.event_type for d in db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    assert types.count("rights.request.at_risk") == 1
    assert types.count("rights.request.overdue") == 1


def test_after_three_days_down_only_the_most_urgent_notice_goes_out(db, org, person, clock):
    request = deletion(org, clock)
    clock.at = notices(db, request)["reminder:1"][0] + timedelta(hours=1)  # 5 and 2 were missed
    assert send_due_notices(clock.now()) == {"reminders": 1, "overdue": 0, "passed": 2}
    outcomes = {kind: outcome for kind, (_, outcome) in notices(db, request).items()}
    assert outcomes == {"reminder:5": "passed", "reminder:2": "passed", "reminder:1": "sent", "overdue": None}
    assert "1 个工作日" in mails(db, org, "rights.reminder")[0].subject


def test_a_paused_request_is_not_reminded_and_its_notices_move_on_resume(db, org, person, clock):
    request = deletion(org, clock)
    before = notices(db, request)["reminder:5"][0]
    actions.pause(org, request.public_id, "which account?", clock.now(), OFFICER)
    clock.at = before + timedelta(hours=1)
    assert send_due_notices(clock.now())["reminders"] == 0
    actions.resume(org, request.public_id, clock.now(), OFFICER)
    assert notices(db, request)["reminder:5"][0] > before


def test_a_closed_request_has_nothing_left_to_send(db, org, person, clock):
    request = deletion(org, clock)
    actions.complete(org, request.public_id, clock.now(), OFFICER)
    clock.advance(days=60)
    assert send_due_notices(clock.now()) == {"reminders": 0, "overdue": 0, "passed": 0}


def test_requests_left_unverified_end_after_30_days(db, org, person, clock):
    waiting = service.create_request(org, "u-1", "access", clock.now())
    clock.advance(days=29, hours=23)
    assert expire_unverified(clock.now()) == 0
    clock.advance(hours=2)
    assert expire_unverified(clock.now()) == 1
    assert expire_unverified(clock.now()) == 0
    assert waiting.status == "expired_unverified"
    assert timeline(waiting)[-1].actor_kind == "system"


def _requests(db, org, clock, n: int):
    people = [f"u-{i}" for i in range(2, n + 1)]
    for external_id in people:
        make_subject(org, clock.now(), external_id, email=f"{external_id}@example.cn")
    made = [deletion(org, clock)]
    for external_id in people:
        request = service.create_request(
            org, external_id, "deletion", clock.now(), identity_verified_by="company", client_id="cs_x"
        )
        actions.assign(org, request.public_id, "li.officer@shop.example", clock.now(), OFFICER)
        made.append(request)
    return made


def test_an_officer_gets_one_mail_per_run_listing_their_requests(db, org, person, clock):
    first, second, third = _requests(db, org, clock, 3)
    clock.at = notices(db, first)["reminder:5"][0]
    assert send_due_notices(clock.now())["reminders"] == 3
    reminders = mails(db, org, "rights.reminder")
    assert sorted(m.to for m in reminders) == ["li.officer@shop.example", "pipo@shop.example"]
    for mail in reminders:
        assert "3 个个人信息请求即将到期，最早 5 个工作日内" in mail.subject
        lines = [line for line in mail.text.splitlines() if line.startswith("- ")]
        assert [line.split("（")[0][2:] for line in lines] == [r.public_id for r in (first, second, third)]
        assert all("5 个工作日内到期" in line and "due in 5 working days" in line for line in lines)


def test_a_batch_cut_by_the_limit_leaves_its_last_request_whole_for_the_next_run(db, org, person, clock):
    first, second = _requests(db, org, clock, 2)
    clock.at = notices(db, first)["reminder:1"][0] + timedelta(hours=1)  # three missed each
    # Four rows: the first request's three and one of the second's; the second waits, whole.
    assert send_due_notices(clock.now(), limit=4) == {"reminders": 1, "overdue": 0, "passed": 2}
    assert {kind: outcome for kind, (_, outcome) in notices(db, second).items()} == dict.fromkeys(
        ("reminder:5", "reminder:2", "reminder:1", "overdue")
    )
    assert send_due_notices(clock.now(), limit=4) == {"reminders": 1, "overdue": 0, "passed": 2}
    assert notices(db, second)["reminder:1"][1] == "sent"
    assert notices(db, second)["reminder:5"][1] == "passed"  # never sent late
    assert all("1 个工作日" in m.subject for m in mails(db, org, "rights.reminder"))


def test_a_notice_older_than_one_already_sent_is_passed_over(db, org, person, clock):
    request = deletion(org, clock)
    rows = {
        n.kind: n
        for n in db.session.scalars(select(RightsNotice).where(RightsNotice.request_id == request.id))
    }
    # Another process sent the two-day reminder while this one still saw the five-day one.
    clock.at = rows["reminder:2"].due_at
    rows["reminder:2"].sent_at, rows["reminder:2"].outcome = clock.now(), "sent"
    db.session.flush()
    assert send_due_notices(clock.now()) == {"reminders": 0, "overdue": 0, "passed": 1}
    assert rows["reminder:5"].outcome == "passed"
    assert mails(db, org, "rights.reminder") == []
