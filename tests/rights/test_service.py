"""Receiving and working rights requests: who may ask, identity before the clock, each step
recorded, refusals with their grounds, pauses that add days back, extensions where allowed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from consent_service.errors import InvalidInput
from consent_service.rights import actions, replies, service
from consent_service.rights.models import RightsNotice, RightsRequestEvent
from consent_service.rights.service import CodeInvalid, CodeResendTooSoon, Requester
from consent_service.rights.timeline import Actor, timeline
from consent_service.rights.workflow import TransitionNotAllowed
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery
from tests.factories import make_subject
from tests.rights.conftest import OFFICER, mailed_code, mails

CLIENT = "cs_test_client"


def vouched(org, clock, request_type="access", external_id="u-1", **options):
    """A request the company vouches for: in progress, the clock running."""
    return service.create_request(
        org,
        external_id,
        request_type,
        clock.now(),
        identity_verified_by="company",
        client_id=CLIENT,
        **options,
    )


# --- receiving ---------------------------------------------------------------------------------


def test_a_vouched_request_starts_the_clock_and_is_acknowledged(db, org, person, clock):
    request = vouched(org, clock)
    assert request.status == "in_progress"
    assert (request.identity_verified_by, request.identity_verified_at) == ("company", clock.now())
    # T0 is Monday 2026-11-02 10:00 in Shanghai: 30 calendar days, the start not counted.
    assert request.due_day == date(2026, 12, 2)
    assert request.due_at == datetime(2026, 12, 2, 15, 59, 59, tzinfo=UTC)
    assert not request.provisional
    [ack] = mails(db, org, "rights.acknowledgement")
    assert ack.to == "person@example.cn"
    assert "2026-12-02 23:59" in ack.text
    steps = [(e.action, e.to_status, e.actor_kind) for e in timeline(request)]
    assert steps == [
        ("receive", "received", "client"),
        ("verify", "in_progress", "client"),
        ("no_systems", "in_progress", "client"),  # nothing registered: an officer carries it out
    ]


def test_working_day_types_are_due_in_15_working_days(db, org, person, clock):
    request = vouched(org, clock, "deletion")
    # From Monday 2026-11-02: 15 working days, no holiday in between: Monday 2026-11-23.
    assert request.due_day == date(2026, 11, 23)


def test_the_persons_dashboard_session_vouches_for_them(db, org, person, clock):
    """Signed in to their own dashboard, the person is who they say: the clock starts at once,
    the verification recorded as theirs, and no code is mailed."""
    request = service.create_request(
        org, "u-1", "access", clock.now(), channel="dashboard", identity_verified_by="dashboard"
    )
    assert request.status == "in_progress"
    assert (request.identity_verified_by, request.identity_verified_at) == ("dashboard", clock.now())
    assert request.due_day == date(2026, 12, 2)
    assert mails(db, org, "rights.identity_code") == []
    steps = [(e.action, e.actor_kind, e.note) for e in timeline(request)][:2]
    assert steps == [("receive", "subject", None), ("verify", "subject", "identity verified by dashboard")]


@pytest.mark.parametrize(
    "options",
    [
        {"channel": "api"},  # only the dashboard's own channel
        {"channel": "dashboard", "client_id": CLIENT},  # an API client cannot claim a session
        {"channel": "dashboard", "requester": Requester(kind="guardian", name="A", relationship="mother")},
    ],
)
def test_only_the_persons_own_session_is_a_dashboard_voucher(db, org, person, clock, options):
    with pytest.raises(InvalidInput) as refused:
        service.create_request(org, "u-1", "access", clock.now(), identity_verified_by="dashboard", **options)
    assert "identity_verified_by" in refused.value.details
    assert db.session.scalar(select(func.count()).select_from(RightsRequestEvent)) == 0


def test_without_a_voucher_a_code_is_mailed_and_the_clock_waits(db, org, person, clock):
    request = service.create_request(org, "u-1", "access", clock.now())
    assert request.status == "verifying_identity"
    assert request.due_at is None
    code = mailed_code(db, org)
    assert mails(db, org, "rights.acknowledgement") == []
    clock.advance(minutes=3)
    service.verify_identity(org, request.public_id, clock.now(), Actor("subject"), code=code)
    assert request.status == "in_progress"
    assert request.clock_started_at == clock.now()
    assert len(mails(db, org, "rights.acknowledgement")) == 1


def test_a_wrong_code_counts_and_five_wrong_codes_use_it_up(db, org, person, clock):
    request = service.create_request(org, "u-1", "access", clock.now())
    code = mailed_code(db, org)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(CodeInvalid) as refused:
            service.verify_identity(org, request.public_id, clock.now(), Actor("subject"), code=wrong)
        assert refused.value.details == {"attempts_left": left}
    with pytest.raises(CodeInvalid, match="too many"):
        service.verify_identity(org, request.public_id, clock.now(), Actor("subject"), code=code)
    assert request.status == "verifying_identity"


def test_a_code_lasts_ten_minutes(db, org, person, clock):
    request = service.create_request(org, "u-1", "access", clock.now())
    code = mailed_code(db, org)
    clock.advance(minutes=10, seconds=1)
    with pytest.raises(CodeInvalid, match="expired"):
        service.verify_identity(org, request.public_id, clock.now(), Actor("subject"), code=code)


def test_the_code_is_kept_only_as_a_keyed_hash(db, org, person, clock):
    request = service.create_request(org, "u-1", "access", clock.now())
    code = mailed_code(db, org)
    from consent_service.rights.models import IdentityCode

    stored = db.session.scalars(select(IdentityCode).where(IdentityCode.request_id == request.id)).one()
    assert code not in stored.code_hash
    import hashlib

    assert stored.code_hash != hashlib.sha256(code.encode()).hexdigest()


def test_resending_is_limited(db, org, person, clock):
    request = service.create_request(org, "u-1", "access", clock.now())
    first = mailed_code(db, org)
    with pytest.raises(CodeResendTooSoon) as soon:
        service.resend_code(org, request.public_id, clock.now(), Actor("subject"))
    assert soon.value.status == 429 and soon.value.problem_headers()["Retry-After"] == "60"
    clock.advance(seconds=61)
    service.resend_code(org, request.public_id, clock.now(), Actor("subject"))
    second = mailed_code(db, org)
    if second != first:  # the old code stops working
        with pytest.raises(CodeInvalid):
            service.verify_identity(org, request.public_id, clock.now(), Actor("subject"), code=first)
    for _ in range(3):
        clock.advance(seconds=61)
        service.resend_code(org, request.public_id, clock.now(), Actor("subject"))
    clock.advance(seconds=61)
    with pytest.raises(CodeResendTooSoon, match="no more codes"):
        service.resend_code(org, request.public_id, clock.now(), Actor("subject"))


def test_a_person_nobody_can_mail_waits_for_an_officer(db, org, clock):
    make_subject(org, clock.now(), "no-mail")
    request = service.create_request(org, "no-mail", "access", clock.now())
    assert request.status == "received" and mails(db, org) == []
    service.verify_identity(org, request.public_id, clock.now(), OFFICER, by="officer")
    assert (request.status, request.identity_verified_by) == ("in_progress", "officer")


def test_a_guardian_asks_for_a_child_only(db, org, clock):
    make_subject(org, clock.now(), "kid", birth_date=date(2018, 5, 1))
    make_subject(org, clock.now(), "adult", birth_date=date(1990, 5, 1))
    guardian = Requester("guardian", name="Wang Fang", relationship="mother", contact="mum@example.cn")
    request = service.create_request(org, "kid", "access", clock.now(), requester=guardian)
    assert mails(db, org, "rights.identity_code")[-1].to == "mum@example.cn"
    assert request.requester_kind == "guardian"
    with pytest.raises(InvalidInput) as refused:
        service.create_request(org, "adult", "access", clock.now(), requester=guardian)
    assert "under 14" in refused.value.details["requester"][0]


def test_a_close_relative_states_relationship_proof_and_interest(db, org, person, clock):
    bare = Requester("relative", name="Zhang Wei", relationship="son")
    with pytest.raises(InvalidInput) as refused:
        service.create_request(org, "u-1", "access", clock.now(), requester=bare)
    assert "PIPL 49" in refused.value.details["requester"][0]
    full = Requester(
        "relative", name="Zhang Wei", relationship="son", proof="death certificate no. 12",
        interest="settling the estate", contact="son@example.cn",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        service.create_request(org, "u-1", "cancellation", clock.now(), requester=full)
    assert "PIPL 49" in refused.value.details["type"][0]
    request = service.create_request(org, "u-1", "copy", clock.now(), requester=full)
    assert request.requester_proof == "death certificate no. 12"


def test_an_officer_enters_a_paper_request_with_its_channel(db, org, person, clock):
    officer = Requester("officer")
    with pytest.raises(InvalidInput) as refused:
        service.create_request(org, "u-1", "access", clock.now(), requester=officer, channel="api")
    assert set(refused.value.details) == {"channel", "entered_by"}
    request = service.create_request(
        org, "u-1", "access", clock.now(), requester=officer, channel="paper", entered_by="Li Na"
    )
    assert (request.channel, request.entered_by) == ("paper", "Li Na")
    assert timeline(request)[0].actor == "Li Na"


def test_details_are_kept_encrypted(db, org, person, clock):
    request = vouched(org, clock, "correction", details="my phone is now +86 138 0000 0000")
    assert "138" not in request.details_encrypted
    assert replies.details_of(request) == "my phone is now +86 138 0000 0000"


def test_an_unknown_person_is_not_found(db, org, clock):
    from consent_service.errors import NotFound

    with pytest.raises(NotFound):
        service.create_request(org, "nobody", "access", clock.now())


def test_bad_input_names_every_field(db, org, person, clock):
    with pytest.raises(InvalidInput) as refused:
        service.create_request(
            org, "u-1", "telepathy", clock.now(), regime="MARS", channel="fax", language="fr"
        )
    assert set(refused.value.details) == {"type", "regime", "channel", "language"}


# --- working -----------------------------------------------------------------------------------


def test_a_refusal_needs_a_ground_an_explanation_and_the_complaint_channel(db, org, person, clock):
    request = vouched(org, clock)
    with pytest.raises(InvalidInput) as refused:
        actions.refuse(org, request.public_id, clock.now(), OFFICER, ground="because", explanation="",
                       complaint_channel=None)  # fmt: skip
    assert set(refused.value.details) == {"ground", "explanation", "complaint_channel"}
    assert request.status == "in_progress"
    actions.refuse(
        org, request.public_id, clock.now(), OFFICER, ground="trade_secrets",
        explanation="The scoring model is a trade secret.", complaint_channel="complaints@shop.example",
    )  # fmt: skip
    assert (request.status, request.refusal_ground) == ("refused", "trade_secrets")
    [reply] = mails(db, org, "rights.refused")
    assert (
        "涉及商业秘密" in reply.text and "complaints@shop.example" in reply.text and "第五十条" in reply.text
    )
    assert db.session.scalar(select(func.count()).where(RightsNotice.request_id == request.id,
                                                        RightsNotice.sent_at.is_(None))) == 0  # fmt: skip


def test_an_illegal_step_is_refused_naming_the_allowed_ones(db, org, person, clock):
    request = vouched(org, clock)
    actions.complete(org, request.public_id, clock.now(), OFFICER, "done")
    with pytest.raises(TransitionNotAllowed) as refused:
        actions.pause(org, request.public_id, "a question", clock.now(), OFFICER)
    assert refused.value.allowed == []
    events = db.session.scalar(select(func.count()).where(RightsRequestEvent.request_id == request.id))
    assert events == 4  # receive, verify, no_systems, complete: the refused step recorded nothing


def test_a_pause_adds_its_days_back(db, org, person, clock):
    request = vouched(org, clock)
    assert request.due_day == date(2026, 12, 2)
    actions.pause(org, request.public_id, "which account do you mean?", clock.now(), OFFICER)
    assert request.status == "awaiting_requester"
    clock.advance(days=3)
    actions.resume(org, request.public_id, clock.now(), OFFICER, "the person answered")
    assert request.status == "in_progress"
    assert (request.paused_days, request.due_day) == (3, date(2026, 12, 5))


def test_working_day_pauses_add_back_working_days_only(db, org, person, clock):
    request = vouched(org, clock, "deletion")  # due Monday 2026-11-23
    clock.advance(days=4)  # Friday 2026-11-06
    actions.pause(org, request.public_id, "which account?", clock.now(), OFFICER)
    clock.advance(days=3)  # Monday 2026-11-09: Saturday, Sunday and Monday added back
    actions.resume(org, request.public_id, clock.now(), OFFICER)
    assert request.due_day == date(2026, 11, 24)  # one working day (Monday) later


def test_pipl_allows_no_extension(db, org, person, clock):
    request = vouched(org, clock)
    with pytest.raises(Exception) as refused:
        actions.extend(org, request.public_id, "many systems", clock.now(), OFFICER)
    assert getattr(refused.value, "code", None) == "extension_not_allowed"


def test_gdpr_extends_by_two_months_notified_within_the_first(db, org, person, clock):
    request = vouched(org, clock, regime="GDPR")
    assert request.due_day == date(2026, 12, 2)  # one month from receipt
    actions.extend(org, request.public_id, "the request covers eleven systems", clock.now(), OFFICER)
    assert request.due_day == date(2027, 2, 2)
    [told] = mails(db, org, "rights.extended")  # the new date and the reason (GDPR Art. 12(3))
    assert "2027-02-02" in told.text and "the request covers eleven systems" in told.text
    late = vouched(org, clock, regime="GDPR")
    clock.advance(days=31)
    with pytest.raises(Exception) as refused:
        actions.extend(org, late.public_id, "too late", clock.now(), OFFICER)
    assert getattr(refused.value, "code", None) == "extension_not_allowed"


def test_completion_replies_and_tells_the_company(db, org, person, clock):
    webhooks.create_endpoint(org, "https://hooks.example/in", ["rights.request.completed"], clock.now())
    request = vouched(org, clock)
    actions.assign(org, request.public_id, "li.officer@shop.example", clock.now(), OFFICER)
    actions.complete(org, request.public_id, clock.now(), OFFICER, "Your data is attached.")
    assert request.status == "completed" and request.closed_at == clock.now()
    assert "Your data is attached." in mails(db, org, "rights.completed")[0].text
    [delivery] = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_type == "rights.request.completed")
    ).all()
    assert delivery.payload["data"]["id"] == request.public_id
    assert delivery.payload["data"]["status"] == "completed"
