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
