"""The mails of the dashboard, in the page's language (zh-CN or en).

Each function returns ``(subject, text)`` from plain values; :mod:`.signin` queues them through
the mail outbox in the transaction that makes the code.
"""

from __future__ import annotations


def _zh(language: str) -> bool:
    return not language.lower().startswith("en")


def sign_in_code(org_name: str, code: str, minutes: int, language: str) -> tuple[str, str]:
    """The code that signs the person in to their privacy dashboard at ``org_name``."""
    if _zh(language):
        return (
            f"{org_name}：隐私面板登录验证码 {code}",
            f"您正在登录{org_name}的个人隐私面板。\n\n"
            f"验证码：{code}\n{minutes} 分钟内有效，只能使用一次。"
            "若不是您本人操作，请忽略本邮件，不要把验证码告诉任何人。\n",
        )
    return (
        f"{org_name}: your sign-in code {code}",
        f"You asked to sign in to your privacy dashboard at {org_name}.\n\n"
        f"Sign-in code: {code}\nIt works once, for {minutes} minutes. If you did not ask, ignore "
        "this mail and do not give the code to anyone.\n",
    )
