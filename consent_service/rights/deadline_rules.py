"""Deadline rules as data: how long a handler has for each request, by regime, and what an
organization may set instead.

A :class:`Rule` says how long a handler has (``amount`` ``unit`` from ``starts_at``) and whether
and how it may extend; :data:`DEFAULT_RULES` holds the law's rule for each regime and request
type. An organization may set shorter ones, never longer (:func:`check_override`).
:mod:`consent_service.rights.deadlines` counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from consent_service.errors import DomainError, InvalidInput
from consent_service.rights.periods import (
    CALENDAR_DAYS,
    MONTHS,
    UNITS,
    WORKING_DAYS,
    Period,
    describe,
    describe_zh,
    never_longer,
)
from consent_service.rights.types import REQUEST_TYPES

RECEIPT = "receipt"
IDENTITY_VERIFIED = "identity_verified"
#: When the clock may start, earliest first: a later start gives a later due date.
STARTS = (RECEIPT, IDENTITY_VERIFIED)
#: The regimes with default rules.
REGIMES = ("PIPL", "GDPR")
#: No period is longer than this many units (a mistyped rule is refused, not counted for years).
MAX_AMOUNT = 1000


class DeadlineTooLong(DomainError):
    """An organization's deadline would end later than the law's (the law's is the limit)."""

    code = "deadline_too_long"
    status = 422


class NoDeadlineRule(DomainError):
    """No rule for this regime and request type."""

    code = "no_deadline_rule"
    status = 422


@dataclass(frozen=True)
class Rule:
    """How long a handler has to answer: ``amount`` ``unit`` from ``starts_at``, and the extension.

    ``unit`` is ``calendar_days``, ``working_days`` (工作日, after the holiday calendar) or
    ``months``; ``starts_at`` is ``receipt`` or ``identity_verified`` (GB/T 35273 8.7 a: verify
    identity first). An extension (GDPR Art. 12(3): two further months) is
    ``extension_amount`` ``extension_unit`` (the rule's unit unless named), and must be notified
    within ``extension_notice_within`` units (of ``unit``) of the clock's start, with a reason if
    ``extension_needs_reason``. ``clause`` is where the rule comes from.
    """

    amount: int
    unit: str
    starts_at: str = RECEIPT
    extension_amount: int = 0
    extension_unit: str | None = None
    extension_notice_within: int = 0
    extension_needs_reason: bool = False
    clause: str = ""

    def __post_init__(self) -> None:
        """Refuse a rule that cannot be counted (``InvalidInput`` naming each field)."""
        if self.extension_amount and self.extension_unit is None:
            object.__setattr__(self, "extension_unit", self.unit)
        errors = _rule_errors(self)
        if errors:
            raise InvalidInput("invalid deadline rule", errors)

    @property
    def periods(self) -> tuple[Period, ...]:
        """The period without its extension."""
        return ((self.amount, self.unit),)

    @property
    def extended_periods(self) -> tuple[Period, ...]:
        """The period followed by its extension."""
        if not self.extension_amount:
            return self.periods
        return ((self.amount, self.unit), (self.extension_amount, self.extension_unit or self.unit))

    def describe(self) -> str:
        """The rule in words: ``15 working days from identity verification (App认定方法 §6)``, or
        ``1 month from receipt, extendable by 2 months if notified within 1 month with the reason
        (GDPR Art. 12(3); Art. 15)``."""
        start = "identity verification" if self.starts_at == IDENTITY_VERIFIED else "receipt"
        text = f"{describe(self.amount, self.unit)} from {start}"
        if self.extension_amount:
            text += (
                f", extendable by {describe(self.extension_amount, self.extension_unit or self.unit)}"
                f" if notified within {describe(self.extension_notice_within, self.unit)}"
                + (" with the reason" if self.extension_needs_reason else "")
            )
        return f"{text} ({self.clause})" if self.clause else text

    def describe_zh(self) -> str:
        """The rule in Chinese: ``自身份核实起 15 个工作日（App认定方法 §6）``."""
        start = "自身份核实起" if self.starts_at == IDENTITY_VERIFIED else "自收到请求起"
        text = f"{start} {describe_zh(self.amount, self.unit)}"
        if self.extension_amount:
            notice = describe_zh(self.extension_notice_within, self.unit)
            extension = describe_zh(self.extension_amount, self.extension_unit or self.unit)
            reason = "并说明理由" if self.extension_needs_reason else ""
            text += f"，如在 {notice}内告知{reason}，可延长 {extension}"
        return f"{text}（{self.clause}）" if self.clause else text

    def to_dict(self) -> dict[str, object]:
        """The rule as plain data (for an API answer, a record or an error's details)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def _rule_errors(rule: Rule) -> dict[str, list[str]]:
    """What is wrong with ``rule``, by field."""
    errors: dict[str, list[str]] = {}

    def amount(name: str, value: object, least: int, most: int) -> None:
        """Note ``name`` unless ``value`` is a whole number from ``least`` to ``most``."""
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            errors[name] = [f"must be a whole number from {least} to {most}"]

    amount("amount", rule.amount, 1, MAX_AMOUNT)
    if rule.unit not in UNITS:
        errors["unit"] = [f"must be one of {', '.join(UNITS)}"]
    if rule.starts_at not in STARTS:
        errors["starts_at"] = [f"must be one of {', '.join(STARTS)}"]
    amount("extension_amount", rule.extension_amount, 0, MAX_AMOUNT)
    if not isinstance(rule.extension_needs_reason, bool):
        errors["extension_needs_reason"] = ["must be true or false"]
    if rule.extension_amount:
        if rule.extension_unit not in UNITS:
            errors["extension_unit"] = [f"must be one of {', '.join(UNITS)}"]
        top = rule.amount if isinstance(rule.amount, int) else 0
        amount("extension_notice_within", rule.extension_notice_within, 1, max(top, 1))
    else:
        for name in ("extension_unit", "extension_notice_within", "extension_needs_reason"):
            if getattr(rule, name):
                errors[name] = ["only with an extension (extension_amount above 0)"]
    return errors


_PIPL_30_DAYS = Rule(30, CALENDAR_DAYS, IDENTITY_VERIFIED, clause="GB/T 35273 8.7 c)")
_PIPL_15_WORKING_DAYS = Rule(15, WORKING_DAYS, IDENTITY_VERIFIED, clause="App认定方法 §6")
_PIPL = {
    "access": _PIPL_30_DAYS,
    "copy": _PIPL_30_DAYS,
    "portability": _PIPL_30_DAYS,
    "correction": _PIPL_15_WORKING_DAYS,
    "deletion": _PIPL_15_WORKING_DAYS,
    "restriction": _PIPL_30_DAYS,
    "cancellation": Rule(15, WORKING_DAYS, IDENTITY_VERIFIED, clause="GB/T 35273 8.5; App认定方法 §6"),
    "withdrawal": _PIPL_30_DAYS,
    "explanation": _PIPL_30_DAYS,
    "complaint": _PIPL_15_WORKING_DAYS,
}
#: The article of each request under GDPR; Art. 12(3) sets the period for all of them.
_GDPR_ARTICLES = {
    "access": "Art. 15",
    "copy": "Art. 15(3)",
    "portability": "Art. 20",
    "correction": "Art. 16",
    "deletion": "Art. 17",
    "restriction": "Art. 18",
    "cancellation": "Art. 17",
    "withdrawal": "Art. 7(3)",
    "explanation": "Art. 15(1)(h), 22(3)",
    "complaint": "Art. 12(4)",
}


def _gdpr(request_type: str) -> Rule:
    """One month from receipt, extendable by two months with notice and reason in the first."""
    return Rule(
        1,
        MONTHS,
        RECEIPT,
        extension_amount=2,
        extension_notice_within=1,
        extension_needs_reason=True,
        clause=f"GDPR Art. 12(3); {_GDPR_ARTICLES[request_type]}",
    )


#: The law's rule for each (regime, request type): every type of ``REQUEST_TYPES`` in each regime.
DEFAULT_RULES: dict[tuple[str, str], Rule] = {
    **{("PIPL", code): _PIPL[code] for code in REQUEST_TYPES},
    **{("GDPR", code): _gdpr(code) for code in REQUEST_TYPES},
}


def rule_for(regime: str, request_type: str, overrides: Mapping[tuple[str, str], Rule] | None = None) -> Rule:
    """The rule a request is due by: the organization's own if it set one (checked again here
    against the law's, :func:`check_override`), else the law's. :class:`NoDeadlineRule` for a
    regime or type without one."""
    default = DEFAULT_RULES.get((regime, request_type))
    if default is None:
        raise NoDeadlineRule(
            f"no deadline rule for {request_type!r} requests under {regime!r}",
            details={"regime": regime, "requestType": request_type},
        )
    proposed = (overrides or {}).get((regime, request_type))
    if proposed is None:
        return default
    check_override(default, proposed)
    return proposed


def check_override(default: Rule, proposed: Rule) -> None:
    """Refuse an organization's rule that could end later than the law's (:class:`DeadlineTooLong`).

    A shorter period is always allowed, a longer one never. Units compare directly when they
    are the same; otherwise the proposed period must be proven no longer for any start day and
    any calendar (:func:`~consent_service.rights.periods.never_longer`): 28 calendar days instead
    of one month is accepted, 30 is not (February), and working days never replace calendar days
    or months. The clock may start earlier (at receipt), not later; an extension is allowed only
    where the law allows one, no longer in total, notified no later, and with the reason if the
    law asks for it.
    """
    refusal = _override_refusal(default, proposed)
    if refusal:
        raise DeadlineTooLong(
            f"{refusal}: the limit is {default.describe()}",
            details={"limit": default.to_dict(), "proposed": proposed.to_dict()},
        )


def _override_refusal(default: Rule, proposed: Rule) -> str | None:
    """Why ``proposed`` could end later than ``default``, or ``None``."""
    if STARTS.index(proposed.starts_at) > STARTS.index(default.starts_at):
        return "the clock cannot start later than the law says"
    if not never_longer(proposed.periods, default.periods):
        return f"{describe(proposed.amount, proposed.unit)} could end later than the law allows"
    if not proposed.extension_amount:
        return None
    if not default.extension_amount:
        return "the law allows no extension"
    if not never_longer(proposed.extended_periods, default.extended_periods):
        return "the extended period could end later than the law allows"
    if not never_longer(
        [(proposed.extension_notice_within, proposed.unit)], [(default.extension_notice_within, default.unit)]
    ):
        return "the extension could be notified later than the law allows"
    if default.extension_needs_reason and not proposed.extension_needs_reason:
        return "the law asks for the reason of an extension"
    return None
