"""The deadline rules as data: the law's for every regime and request type, and what an
organization may set instead (shorter, never longer)."""

from __future__ import annotations

import pytest

from consent_service.errors import DomainError, InvalidInput
from consent_service.rights import deadlines
from consent_service.rights.deadline_rules import (
    DEFAULT_RULES,
    REGIMES,
    DeadlineTooLong,
    NoDeadlineRule,
    Rule,
    check_override,
    rule_for,
)
from consent_service.rights.types import REQUEST_TYPES

WORKING_DAY_TYPES = {"cancellation", "correction", "deletion", "complaint"}


def test_every_request_type_has_a_rule_in_every_regime():
    assert set(REQUEST_TYPES) == {
        "access",
        "copy",
        "portability",
        "correction",
        "deletion",
        "restriction",
        "cancellation",
        "withdrawal",
        "explanation",
        "complaint",
    }
    assert REGIMES == ("PIPL", "GDPR")
    assert set(DEFAULT_RULES) == {(regime, code) for regime in REGIMES for code in REQUEST_TYPES}


@pytest.mark.parametrize("code", sorted(REQUEST_TYPES))
def test_pipl_rules(code):
    rule = DEFAULT_RULES[("PIPL", code)]
    assert rule.starts_at == "identity_verified"  # GB/T 35273 8.7 a): verify identity first
    assert rule.extension_amount == 0
    if code in WORKING_DAY_TYPES:
        assert (rule.amount, rule.unit) == (15, "working_days")
        assert "App认定方法 §6" in rule.clause
    else:
        assert (rule.amount, rule.unit) == (30, "calendar_days")
        assert rule.clause == "GB/T 35273 8.7 c)"
    assert ("GB/T 35273 8.5" in rule.clause) is (code == "cancellation")


@pytest.mark.parametrize("code", sorted(REQUEST_TYPES))
def test_gdpr_rules(code):
    rule = DEFAULT_RULES[("GDPR", code)]
    assert (rule.amount, rule.unit, rule.starts_at) == (1, "months", "receipt")
    assert (rule.extension_amount, rule.extension_unit) == (2, "months")
    assert (rule.extension_notice_within, rule.extension_needs_reason) == (1, True)
    assert rule.clause.startswith("GDPR Art. 12(3)")


def test_the_deadlines_module_offers_the_rules():
    assert deadlines.Rule is Rule
    assert deadlines.rule_for is rule_for
    assert deadlines.DEFAULT_RULES is DEFAULT_RULES


def test_a_rule_in_words():
    assert (
        DEFAULT_RULES[("PIPL", "deletion")].describe()
        == "15 working days from identity verification (App认定方法 §6)"
    )
    assert DEFAULT_RULES[("GDPR", "access")].describe() == (
        "1 month from receipt, extendable by 2 months if notified within 1 month with the reason"
        " (GDPR Art. 12(3); Art. 15)"
    )


def test_a_rule_in_chinese():
    assert DEFAULT_RULES[("PIPL", "deletion")].describe_zh() == "自身份核实起 15 个工作日（App认定方法 §6）"
    assert DEFAULT_RULES[("PIPL", "access")].describe_zh() == "自身份核实起 30 日（GB/T 35273 8.7 c)）"
    assert DEFAULT_RULES[("GDPR", "access")].describe_zh() == (
        "自收到请求起 1 个月，如在 1 个月内告知并说明理由，可延长 2 个月（GDPR Art. 12(3); Art. 15）"
    )


def test_a_rule_as_plain_data():
    assert DEFAULT_RULES[("PIPL", "access")].to_dict() == {
        "amount": 30,
        "unit": "calendar_days",
        "starts_at": "identity_verified",
        "extension_amount": 0,
        "extension_unit": None,
        "extension_notice_within": 0,
        "extension_needs_reason": False,
        "clause": "GB/T 35273 8.7 c)",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": 0, "unit": "calendar_days"}, "amount"),
        ({"amount": True, "unit": "calendar_days"}, "amount"),
        ({"amount": 1001, "unit": "calendar_days"}, "amount"),
        ({"amount": 15, "unit": "weeks"}, "unit"),
        ({"amount": 15, "unit": "working_days", "starts_at": "acknowledged"}, "starts_at"),
        ({"amount": 1, "unit": "months", "extension_amount": -1}, "extension_amount"),
        ({"amount": 1, "unit": "months", "extension_amount": 2, "extension_unit": "years"}, "extension_unit"),
        ({"amount": 1, "unit": "months", "extension_amount": 2}, "extension_notice_within"),
        (
            {"amount": 1, "unit": "months", "extension_amount": 2, "extension_notice_within": 2},
            "extension_notice_within",
        ),
        ({"amount": 30, "unit": "calendar_days", "extension_notice_within": 5}, "extension_notice_within"),
        ({"amount": 30, "unit": "calendar_days", "extension_needs_reason": True}, "extension_needs_reason"),
        ({"amount": 30, "unit": "calendar_days", "extension_unit": "months"}, "extension_unit"),
    ],
)
def test_a_rule_that_cannot_be_counted_is_refused(kwargs, field):
    with pytest.raises(InvalidInput) as excinfo:
        Rule(**kwargs)
    assert field in excinfo.value.details


def test_an_extension_is_in_the_rules_unit_unless_named():
    assert Rule(1, "months", extension_amount=2, extension_notice_within=1).extension_unit == "months"


def test_rule_for_gives_the_law_without_overrides():
    assert rule_for("PIPL", "deletion") is DEFAULT_RULES[("PIPL", "deletion")]
    assert rule_for("GDPR", "access", overrides={}) is DEFAULT_RULES[("GDPR", "access")]


def test_rule_for_an_unknown_regime_or_type():
    with pytest.raises(NoDeadlineRule, match="'CCPA'"):
        rule_for("CCPA", "access")
    with pytest.raises(NoDeadlineRule) as excinfo:
        rule_for("PIPL", "objection")
    assert excinfo.value.status == 422
    assert excinfo.value.details == {"regime": "PIPL", "requestType": "objection"}


# --- an organization's own rules ---------------------------------------------------------------

PIPL_DELETION = DEFAULT_RULES[("PIPL", "deletion")]
PIPL_ACCESS = DEFAULT_RULES[("PIPL", "access")]
GDPR_ACCESS = DEFAULT_RULES[("GDPR", "access")]


def gdpr_like(amount=1, unit="months", **extension) -> Rule:
    """A rule from receipt with GDPR's extension terms unless ``extension`` says otherwise."""
    terms = {"extension_amount": 2, "extension_notice_within": 1, "extension_needs_reason": True}
    return Rule(amount, unit, "receipt", **{**terms, **extension})


@pytest.mark.parametrize(
    ("default", "proposed"),
    [
        (PIPL_DELETION, Rule(10, "working_days", "identity_verified")),
        (PIPL_DELETION, Rule(15, "working_days", "identity_verified")),  # the same is not longer
        (PIPL_DELETION, Rule(10, "working_days", "receipt")),  # the clock may start earlier
        (PIPL_DELETION, Rule(15, "calendar_days", "identity_verified")),  # never longer than 15 working days
        (PIPL_ACCESS, Rule(20, "calendar_days", "identity_verified")),
        (PIPL_ACCESS, Rule(30, "calendar_days", "receipt")),
        (GDPR_ACCESS, Rule(28, "calendar_days")),  # no month is shorter than 28 days
        (GDPR_ACCESS, Rule(14, "calendar_days")),
        (GDPR_ACCESS, gdpr_like()),
        (GDPR_ACCESS, gdpr_like(extension_amount=1)),
        (
            GDPR_ACCESS,
            gdpr_like(extension_amount=30, extension_unit="calendar_days"),
        ),  # at most 61 days in all
        (GDPR_ACCESS, gdpr_like(28, "calendar_days", extension_amount=60, extension_notice_within=14)),
    ],
)
def test_a_shorter_rule_is_accepted(default, proposed):
    check_override(default, proposed)
    regime_type = next(key for key, rule in DEFAULT_RULES.items() if rule == default)
    assert rule_for(*regime_type, overrides={regime_type: proposed}) is proposed


def test_a_longer_period_in_the_same_unit_is_refused():
    with pytest.raises(DeadlineTooLong) as excinfo:
        check_override(PIPL_DELETION, Rule(20, "working_days", "identity_verified"))
    error = excinfo.value
    assert isinstance(error, DomainError) and error.status == 422
    assert error.message == (
        "20 working days could end later than the law allows: the limit is 15 working days from"
        " identity verification (App认定方法 §6)"
    )
    assert error.details["limit"] == PIPL_DELETION.to_dict()
    assert error.details["proposed"]["amount"] == 20


@pytest.mark.parametrize(
    ("default", "proposed", "reason"),
    [
        # February's month is 28 days.
        (GDPR_ACCESS, Rule(30, "calendar_days"), "30 calendar days could end later"),
        (GDPR_ACCESS, Rule(2, "months"), "2 months could end later"),
        # Working days have no bound in calendar days (a holiday week, a year not yet known).
        (PIPL_ACCESS, Rule(15, "working_days", "identity_verified"), "15 working days could end later"),
        (GDPR_ACCESS, Rule(10, "working_days"), "10 working days could end later"),
        # A month can last 31 days.
        (PIPL_ACCESS, Rule(1, "months", "identity_verified"), "1 month could end later"),
        (PIPL_DELETION, Rule(1, "months", "identity_verified"), "1 month could end later"),
        (PIPL_DELETION, Rule(16, "calendar_days", "identity_verified"), "16 calendar days could end later"),
        # The clock starting later than the law says.
        (GDPR_ACCESS, Rule(1, "months", "identity_verified"), "cannot start later"),
        # Extensions.
        (
            PIPL_ACCESS,
            gdpr_like(20, "calendar_days", extension_notice_within=5),
            "the law allows no extension",
        ),
        (GDPR_ACCESS, gdpr_like(extension_amount=3), "extended period could end later"),
        # One month and 62 days can last 93 days, three months only 89.
        (GDPR_ACCESS, gdpr_like(extension_amount=62, extension_unit="calendar_days"), "extended period"),
        (GDPR_ACCESS, gdpr_like(extension_needs_reason=False), "asks for the reason"),
        (
            gdpr_like(30, "calendar_days", extension_amount=30, extension_notice_within=10),
            gdpr_like(30, "calendar_days", extension_amount=30, extension_notice_within=20),
            "notified later",
        ),
    ],
)
def test_a_rule_that_could_end_later_is_refused(default, proposed, reason):
    with pytest.raises(DeadlineTooLong, match=reason) as excinfo:
        check_override(default, proposed)
    assert f"the limit is {default.describe()}" in excinfo.value.message


def test_a_stored_override_is_checked_again_when_used():
    too_long = Rule(20, "working_days", "identity_verified")
    with pytest.raises(DeadlineTooLong):
        rule_for("PIPL", "deletion", overrides={("PIPL", "deletion"): too_long})
    # An override for another type changes nothing here.
    assert rule_for("PIPL", "access", overrides={("PIPL", "deletion"): too_long}) is PIPL_ACCESS
