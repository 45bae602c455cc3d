"""The rights a person may exercise, each with its clause.

How long a handler has to answer each of them, under PIPL and GB/T 35273 or under GDPR, is
data too: :data:`consent_service.rights.deadlines.DEFAULT_RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestType:
    """A kind of rights request and the law behind it."""

    code: str
    name_zh: str
    name_en: str
    clauses: tuple[str, ...]


REQUEST_TYPES: dict[str, RequestType] = {
    t.code: t
    for t in (
        RequestType("access", "查阅", "Access", ("PIPL 45", "GB/T 8.1")),
        RequestType("copy", "复制", "Copy", ("PIPL 45", "GB/T 8.6")),
        RequestType("portability", "转移", "Transfer to another handler", ("PIPL 45 ¶3", "GB/T 8.6")),
        RequestType("correction", "更正、补充", "Correction and completion", ("PIPL 46", "GB/T 8.2")),
        RequestType("deletion", "删除", "Deletion", ("PIPL 47", "GB/T 8.3")),
        RequestType("restriction", "限制处理", "Restrict processing", ("PIPL 44",)),
        RequestType("cancellation", "注销账户", "Account cancellation", ("GB/T 8.5",)),
        RequestType("withdrawal", "撤回同意", "Withdraw consent", ("PIPL 15", "GB/T 8.4")),
        RequestType(
            "explanation",
            "解释说明",
            "Explain processing rules or an automated decision",
            ("PIPL 48", "PIPL 24", "GB/T 7.7"),
        ),
        RequestType("complaint", "投诉", "Complaint", ("GB/T 8.8",)),
    )
}
