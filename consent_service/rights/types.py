"""The rights a person may exercise, each with its clause and its default deadline rule.

Deadline rules are data, so that other regimes fit without code: a rule names its amount,
its unit (calendar days, PRC working days, months) and when the clock starts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeadlineRule:
    """How long a handler has to answer: ``amount`` ``unit`` from ``starts_at``."""

    amount: int
    unit: str  # "calendar_days" | "working_days" | "months"
    starts_at: str = "receipt"  # "receipt" | "identity_verified"
    extension: int = 0  # further units allowed with notice (GDPR Art. 12(3))
    clause: str = ""


@dataclass(frozen=True)
class RequestType:
    """A kind of rights request and the law behind it."""

    code: str
    name_zh: str
    name_en: str
    clauses: tuple[str, ...]
    pipl_deadline: DeadlineRule


_30_DAYS = DeadlineRule(30, "calendar_days", clause="GB/T 35273 8.7 c)")
_15_WORKING_DAYS = DeadlineRule(15, "working_days", clause="App认定方法 §6; GB/T 35273 8.5")

REQUEST_TYPES: dict[str, RequestType] = {
    t.code: t
    for t in (
        RequestType("access", "查阅", "Access", ("PIPL 45", "GB/T 8.1"), _30_DAYS),
        RequestType("copy", "复制", "Copy", ("PIPL 45", "GB/T 8.6"), _30_DAYS),
        RequestType(
            "portability", "转移", "Transfer to another handler", ("PIPL 45 ¶3", "GB/T 8.6"), _30_DAYS
        ),
        RequestType(
            "correction", "更正、补充", "Correction and completion", ("PIPL 46", "GB/T 8.2"), _15_WORKING_DAYS
        ),
        RequestType("deletion", "删除", "Deletion", ("PIPL 47", "GB/T 8.3"), _15_WORKING_DAYS),
        RequestType("restriction", "限制处理", "Restrict processing", ("PIPL 44",), _30_DAYS),
        RequestType("cancellation", "注销账户", "Account cancellation", ("GB/T 8.5",), _15_WORKING_DAYS),
        RequestType("withdrawal", "撤回同意", "Withdraw consent", ("PIPL 15", "GB/T 8.4"), _30_DAYS),
        RequestType(
            "explanation",
            "解释说明",
            "Explain processing rules or an automated decision",
            ("PIPL 48", "PIPL 24", "GB/T 7.7"),
            _30_DAYS,
        ),
        RequestType("complaint", "投诉", "Complaint", ("GB/T 8.8",), _15_WORKING_DAYS),
    )
}
