"""What the console calls the codes it shows, in the officer's words and the page's language:
a request's status, a step of its timeline, a task's action and answer."""

from __future__ import annotations

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from consent_service.rights.deadline_rules import IDENTITY_VERIFIED, Rule

STATUS = {
    "received": _l("Newly received"),
    "verifying_identity": _l("Verifying identity"),
    "in_progress": _l("In progress"),
    "awaiting_requester": _l("Waiting for the requester"),
    "awaiting_systems": _l("Waiting for data systems"),
    "completed": _l("Completed"),
    "refused": _l("Refused"),
    "withdrawn_by_requester": _l("Withdrawn by the requester"),
    "expired_unverified": _l("Ended: identity not verified"),
}

STEP = {
    "receive": _l("Request received"),
    "send_code": _l("Code mailed to the requester"),
    "verify": _l("Identity verified"),
    "pause": _l("Clock paused"),
    "resume": _l("Clock resumed"),
    "await_systems": _l("Tasks sent to data systems"),
    "task_answered": _l("A data system answered"),
    "systems_done": _l("Every data system answered"),
    "no_systems": _l("No data system holds the person's information"),
    "withdraw_consents": _l("Consents withdrawn in the ledger"),
    "correct_here": _l("Corrected here"),
    "erase_here": _l("Erased here"),
    "package": _l("Access package prepared"),
    "package_download": _l("Access package downloaded"),
    "extend": _l("Deadline extended"),
    "assign": _l("Assigned"),
    "complete": _l("Completed"),
    "refuse": _l("Refused"),
    "withdraw": _l("Withdrawn by the requester"),
    "expire_unverified": _l("Ended: identity not verified"),
}

TASK_ACTION = {
    "access": _l("give the data"),
    "deletion": _l("delete"),
    "correction": _l("correct"),
    "restriction": _l("restrict processing"),
}

TASK_STATUS = {
    "open": _l("open"),
    "done": _l("done"),
    "no_data": _l("holds nothing"),
    "cancelled": _l("cancelled"),
}

CHANNEL = {
    "api": _l("through the company's systems"),
    "dashboard": _l("on the dashboard"),
    "paper": _l("on paper"),
    "phone": _l("by telephone"),
    "email": _l("by email"),
}

REQUESTER = {
    "subject": _l("the person"),
    "guardian": _l("a guardian"),
    "relative": _l("a close relative"),
    "officer": _l("entered by an officer"),
}


def label(table: dict, code: str | None) -> str | None:
    """The label of ``code`` (the code itself if the table has none)."""
    if code is None:
        return None
    return str(table[code]) if code in table else code


def period_words(amount: int, unit: str) -> str:
    """``15 working days``, ``1 month`` in the page's language."""
    if unit == "working_days":
        return ngettext("%(num)d working day", "%(num)d working days", amount)
    if unit == "months":
        return ngettext("%(num)d month", "%(num)d months", amount)
    return ngettext("%(num)d day", "%(num)d days", amount)


def rule_words(rule: Rule) -> str:
    """A deadline rule in words, as :meth:`Rule.describe` says it, in the page's language."""
    period = period_words(rule.amount, rule.unit)
    if rule.starts_at == IDENTITY_VERIFIED:
        text = gettext("%(period)s from identity verification", period=period)
    else:
        text = gettext("%(period)s from receipt", period=period)
    if rule.extension_amount:
        text += gettext(
            ", extendable by %(more)s if the requester is told within %(notice)s",
            more=period_words(rule.extension_amount, rule.extension_unit or rule.unit),
            notice=period_words(rule.extension_notice_within, rule.unit),
        )
    return text
