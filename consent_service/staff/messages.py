"""The mails of staff accounts, in Chinese or English.

Each function returns ``(subject, text)`` from plain values; :mod:`.accounts` queues them
through the mail outbox in the transaction that causes them.
"""

from __future__ import annotations


def _zh(language: str) -> bool:
    return not language.lower().startswith("en")


def password_reset(org_name: str, url: str, minutes: int, language: str) -> tuple[str, str]:
    """The one-time link that sets a new console password."""
    if _zh(language):
        return (
            f"{org_name}：重设管理台密码",
            f"有人请求重设您在{org_name}个人信息管理台的密码。\n\n"
            f"请在 {minutes} 分钟内打开以下链接（仅可使用一次）：\n{url}\n\n"
            "若不是您本人操作，请忽略本邮件，您的密码不会改变。\n",
        )
    return (
        f"{org_name}: reset your console password",
        f"Someone asked to reset your password for the {org_name} console.\n\n"
        f"Open this link within {minutes} minutes (it works once):\n{url}\n\n"
        "If you did not ask, ignore this mail: your password stays as it is.\n",
    )


def account_locked(org_name: str, minutes: int, language: str) -> tuple[str, str]:
    """Tell the account holder, and only them, that their account was locked."""
    if _zh(language):
        return (
            f"{org_name}：管理台账户已临时锁定",
            f"由于连续多次登录失败，您在{org_name}个人信息管理台的账户已锁定 {minutes} 分钟。\n\n"
            "若不是您本人操作，请通知管理员，并在锁定结束后重设密码。\n",
        )
    return (
        f"{org_name}: console account locked for now",
        f"After several failed sign-ins in a row, your {org_name} console account is locked for "
        f"{minutes} minutes.\n\nIf this was not you, tell an administrator and reset your password "
        "once the lock ends.\n",
    )
