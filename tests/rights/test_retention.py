"""The retention sweep (PIPL 47, GB/T 35273 6.1): when a consent ends with no other legal basis
left, or a retention period passes, the systems that hold the information get a deletion task,
once; categories another basis still covers are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from consent_service.rights import fulfilment, retention, systems
from consent_service.rights.jobs import JOBS
from consent_service.rights.models import RetentionEnding, RightsTask
from tests.factories import act, grant, make_contract_purpose, make_purpose, publish_policy
from tests.rights.test_fulfilment import SYSTEM


def setup(org, clock, *purposes):
    for code, options in purposes:
        make_purpose(org, clock.now(), code, **options)
    publish_policy(org, clock.now(), "v1")
    crm, _ = systems.register(org, name="CRM", owner="Data team", categories=["browsing", "basic"],
                              now=clock.now())  # fmt: skip
    orders, _ = systems.register(org, name="Orders", owner="Shop team", categories=["device"],
                                 now=clock.now())  # fmt: skip
    return crm, orders


def endings(db) -> list[RetentionEnding]:
    return list(db.session.scalars(select(RetentionEnding).order_by(RetentionEnding.id)))


def test_a_withdrawn_consent_opens_a_deletion_task_where_its_categories_are_once(db, org, person, clock):
    crm, _ = setup(org, clock, ("newsletter", {"pi_categories": ["browsing"], "retention_days": 3650}))
    grant(org, person, clock.now(), "newsletter")
    assert retention.sweep(clock.now()) == {"endings": 0, "tasks": 0, "kept": 0}
    clock.advance(days=1)
    act(org, person, clock.now(), "withdraw", "newsletter")
    assert retention.sweep(clock.now()) == {"endings": 1, "tasks": 1, "kept": 0}
    (task,) = db.session.scalars(select(RightsTask)).all()
    assert (task.system_id, task.action, task.categories, task.request_id) == (
        crm.id,
        "deletion",
        ["browsing"],
        None,
    )
    assert endings(db)[0].reason == "consent_ended"
    assert retention.sweep(clock.now()) == {"endings": 0, "tasks": 0, "kept": 0}  # once
    fulfilment.report(org, task.public_id, clock.now(), SYSTEM, outcome="done", carried_out_at=clock.now())
    assert task.status == "done"


def test_categories_another_basis_covers_are_kept(db, org, person, clock):
    setup(
        org,
        clock,
        ("newsletter", {"pi_categories": ["browsing", "basic"], "retention_days": 3650}),
        ("offers", {"pi_categories": ["browsing"], "retention_days": 3650}),
    )
    make_contract_purpose(org, clock.now(), "orders")  # basic, on a contract (PIPL 13 (2))
    grant(org, person, clock.now(), "newsletter")
    grant(org, person, clock.now(), "offers")
    act(org, person, clock.now(), "withdraw", "newsletter")
    assert retention.sweep(clock.now()) == {"endings": 1, "tasks": 0, "kept": 1}
    (ending,) = endings(db)
    assert (ending.categories, ending.kept_categories) == ([], ["basic", "browsing"])
    act(org, person, clock.now(), "withdraw", "offers")  # contacts no longer covered
    assert retention.sweep(clock.now()) == {"endings": 1, "tasks": 1, "kept": 0}
    assert endings(db)[1].categories == ["browsing"]


def test_a_retention_period_that_passes_opens_a_task_even_while_consent_lasts(db, org, person, clock):
    setup(org, clock, ("analytics", {"pi_categories": ["basic"], "retention_days": 30}))
    grant(org, person, clock.now(), "analytics")
    clock.advance(days=29)
    assert retention.sweep(clock.now())["endings"] == 0
    clock.advance(days=1, seconds=1)
    assert retention.sweep(clock.now()) == {"endings": 1, "tasks": 1, "kept": 0}
    assert endings(db)[0].reason == "retention_period"
    assert retention.sweep(clock.now())["endings"] == 0
    clock.advance(days=1)
    grant(org, person, clock.now(), "analytics")  # a new consent: a new period
    clock.advance(days=31)
    assert retention.sweep(clock.now())["endings"] == 1


def test_without_a_system_holding_the_data_the_ending_is_recorded_and_not_found_again(db, org, person, clock):
    setup(org, clock, ("location", {"pi_categories": ["location"], "retention_days": 3650}))
    grant(org, person, clock.now(), "location")
    act(org, person, clock.now(), "withdraw", "location")
    assert retention.sweep(clock.now()) == {"endings": 1, "tasks": 0, "kept": 0}
    assert (endings(db)[0].categories, endings(db)[0].tasks) == (["location"], 0)
    assert retention.sweep(clock.now())["endings"] == 0


def test_the_scheduler_runs_the_retention_sweep():
    assert [job.name for job in JOBS] == ["rights", "retention", "rights_packages"]


def test_the_sweep_only_reads_endings_of_its_own_key(db, org, person, clock):
    # An ending written for one consent event does not hide the next ending of the same purpose.
    setup(org, clock, ("newsletter", {"pi_categories": ["browsing"], "retention_days": 3650}))
    grant(org, person, clock.now(), "newsletter")
    act(org, person, clock.now(), "withdraw", "newsletter")
    retention.sweep(clock.now())
    clock.advance(days=1)
    grant(org, person, clock.now(), "newsletter")
    clock.advance(days=1)
    act(org, person, clock.now(), "withdraw", "newsletter")
    assert retention.sweep(clock.now() + timedelta(seconds=1))["endings"] == 1
