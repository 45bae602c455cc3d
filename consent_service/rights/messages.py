"""The mails of a rights request, in the requester's language (zh-CN or en).

Each function returns ``(subject, text)`` from plain values; the service queues them through
the mail outbox in the transaction of the change they announce.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from consent_service.rights.grounds import REFUSAL_GROUNDS
from consent_service.rights.types import REQUEST_TYPES


def _zh(language: str) -> bool:
    return not language.lower().startswith("en")


def local_time(value: datetime, timezone: str) -> str:
    """A time as people read it: in the organization's zone, to the minute, with the zone."""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M ") + timezone


def _type_name(code: str, zh: bool) -> str:
    kind = REQUEST_TYPES[code]
    return kind.name_zh if zh else kind.name_en


def identity_code(
    org_name: str, request_type: str, code: str, minutes: int, language: str
) -> tuple[str, str]:
    """The code that verifies the requester before the legal clock starts (GB/T 35273 8.7 a)."""
    if _zh(language):
        return (
            f"{org_name}：个人信息请求验证码 {code}",
            f"您向{org_name}提出了“{_type_name(request_type, True)}”请求。\n\n"
            f"验证码：{code}\n{minutes} 分钟内有效。若不是您本人提出，请忽略本邮件。\n",
        )
    return (
        f"{org_name}: your verification code {code}",
        f"You asked {org_name} for: {_type_name(request_type, False)}.\n\n"
        f"Verification code: {code}\nIt works for {minutes} minutes. If you did not ask, ignore this mail.\n",
    )


def acknowledgement(
    org_name: str, request_type: str, public_id: str, due_at: datetime | None, timezone: str, language: str
) -> tuple[str, str]:
    """That the request was received, and by when it will be answered."""
    zh = _zh(language)
    due = local_time(due_at, timezone) if due_at else None
    if zh:
        line = f"我们将在 {due} 前答复。" if due else "核实身份后，我们将告知答复期限。"
        return (
            f"{org_name}：已收到您的个人信息请求",
            f"我们已收到您的“{_type_name(request_type, True)}”请求（编号 {public_id}）。\n{line}\n",
        )
    line = (
        f"We will answer by {due}."
        if due
        else "Once your identity is verified we will tell you the deadline."
    )
    return (
        f"{org_name}: we received your request",
        f"We received your request for {_type_name(request_type, False)} (reference {public_id}).\n{line}\n",
    )


def extension(
    org_name: str,
    request_type: str,
    public_id: str,
    due_at: datetime,
    reason: str,
    timezone: str,
    language: str,
) -> tuple[str, str]:
    """That the deadline is extended, to when, and why (GDPR Art. 12(3): within the first
    month, with the reasons for the delay)."""
    due = local_time(due_at, timezone)
    if _zh(language):
        return (
            f"{org_name}：您的个人信息请求答复期限已延长",
            f"您的“{_type_name(request_type, True)}”请求（编号 {public_id}）的答复期限已延长至 {due}。\n"
            f"原因：{reason}\n",
        )
    return (
        f"{org_name}: more time to answer your request",
        f"We need more time to answer your request for {_type_name(request_type, False)} "
        f"(reference {public_id}): we will answer by {due}.\nWhy: {reason}\n",
    )


def completion(
    org_name: str, request_type: str, public_id: str, note: str | None, language: str
) -> tuple[str, str]:
    """The reply that the request was carried out."""
    if _zh(language):
        return (
            f"{org_name}：您的个人信息请求已完成",
            f"您的“{_type_name(request_type, True)}”请求（编号 {public_id}）已处理完毕。\n"
            + (f"\n{note}\n" if note else ""),
        )
    return (
        f"{org_name}: your request is complete",
        f"Your request for {_type_name(request_type, False)} (reference {public_id}) has been carried out.\n"
        + (f"\n{note}\n" if note else ""),
    )


def refusal(
    org_name: str,
    request_type: str,
    public_id: str,
    ground: str,
    explanation: str,
    complaint_channel: str,
    language: str,
) -> tuple[str, str]:
    """The reply that refuses, with the ground, the explanation and the complaint channel (PIPL 50)."""
    zh_ground, en_ground = REFUSAL_GROUNDS[ground]
    if _zh(language):
        return (
            f"{org_name}：关于您的个人信息请求的答复",
            f"您的“{_type_name(request_type, True)}”请求（编号 {public_id}）未能满足。\n\n"
            f"依据：{zh_ground}（GB/T 35273 8.7）\n说明：{explanation}\n\n"
            f"如有异议，您可以通过以下渠道投诉：{complaint_channel}\n"
            "您也可以依法向履行个人信息保护职责的部门投诉、举报，或向人民法院提起诉讼（个人信息保护法第五十条）。\n",
        )
    return (
        f"{org_name}: the answer to your request",
        f"We cannot carry out your request for {_type_name(request_type, False)} (reference {public_id}).\n\n"
        f"Ground: {en_ground} (GB/T 35273 8.7)\nExplanation: {explanation}\n\n"
        f"To complain: {complaint_channel}\n"
        "You may also complain to the authority that protects personal information, or sue (PIPL 50).\n",
    )


def _line(public_id: str, request_type: str, state_zh: str, state_en: str) -> str:
    return (
        f"- {public_id}（{_type_name(request_type, True)} / {_type_name(request_type, False)}）："
        f"{state_zh} / {state_en}"
    )


def reminders(org_name: str, items: list[tuple[str, str, int, datetime]], timezone: str) -> tuple[str, str]:
    """To one officer: the requests due soon, ``(public id, type, working days, due at)`` each,
    in one mail per sweep (a digest when there are several)."""
    lines = [
        _line(
            public_id,
            request_type,
            f"{days} 个工作日内到期（{local_time(due_at, timezone)}）",
            f"due in {days} working days ({local_time(due_at, timezone)})",
        )  # fmt: skip
        for public_id, request_type, days, due_at in items
    ]
    if len(items) == 1:
        public_id, _, days, _ = items[0]
        subject = (
            f"[{org_name}] 个人信息请求 {public_id} 将于 {days} 个工作日内到期 / due in {days} working days"
        )
    else:
        soonest = min(days for _, _, days, _ in items)
        subject = (
            f"[{org_name}] {len(items)} 个个人信息请求即将到期，最早 {soonest} 个工作日内 / "
            f"{len(items)} requests due soon"
        )
    text = "以下请求即将到期，请在期限前答复：\nThese requests are due soon:\n\n" + "\n".join(lines) + "\n"
    return subject, text


def escalations(org_name: str, items: list[tuple[str, str, datetime]], timezone: str) -> tuple[str, str]:
    """To one officer and the PI protection officer: the requests whose deadline passed
    unanswered, ``(public id, type, due at)`` each, in one mail per sweep."""
    lines = [
        _line(
            public_id,
            request_type,
            f"已逾期，期限为 {local_time(due_at, timezone)}",
            f"overdue, was due {local_time(due_at, timezone)}",
        )  # fmt: skip
        for public_id, request_type, due_at in items
    ]
    if len(items) == 1:
        subject = f"[{org_name}] 个人信息请求 {items[0][0]} 已逾期 / is overdue"
    else:
        subject = f"[{org_name}] {len(items)} 个个人信息请求已逾期 / {len(items)} requests are overdue"
    text = (
        "以下请求已过答复期限，仍未答复：\nThese requests are past their deadline:\n\n"
        + "\n".join(lines)
        + "\n"
    )
    return subject, text


def package_ready(url: str, expires_at: datetime, timezone: str, language: str) -> str:
    """The sentence of a reply that gives the package's link and how long it works."""
    until = local_time(expires_at, timezone)
    if _zh(language):
        return (
            f"您的个人信息副本（JSON、CSV 及可阅读的 HTML 摘要，打包为 zip）可在以下链接下载，"
            f"有效期至 {until}：\n{url}\n请勿转发此链接。"
        )
    return (
        f"A copy of your information (JSON, CSV and a readable HTML summary, in one zip) can be "
        f"downloaded until {until} at:\n{url}\nDo not forward this link."
    )
