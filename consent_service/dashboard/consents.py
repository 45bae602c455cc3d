"""What the person's consent page shows and does (PIPL 14-16, 23, 29, 31, 39; GB/T 35273 5.3,
5.4, 5.6).

Each purpose is one of three kinds of card: a **basic** function (基本业务功能) that rests on
another legal basis and has no switch; an **extended** function (扩展业务功能) with one switch;
a purpose that needs **separate** consent (sensitive information, a third party, public
disclosure, abroad) with its own notice and its own affirmative action. What a card says is
its *notice*; the SHA-256 of the notice the person saw is the evidence of the act, and an act
posted against a notice that has since changed is refused (the person reads it again).

Giving and withdrawing go through the ledger (``consent.service.record_act``) with the
dashboard as the channel (method ``web``); for a child under 14 a guardian acts, named on each
act (PIPL 31). Functions here read and flush; the view's unit of work commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from consent_service.canonical import canonical_json
from consent_service.consent import service as ledger
from consent_service.consent.hotpath import decide_many
from consent_service.consent.models import ConsentEvent, Subject
from consent_service.consent.rules import required_consent
from consent_service.consent.subjects import is_minor
from consent_service.consent.writer import Actor
from consent_service.errors import InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.i18n import local_datetime
from consent_service.organizations.models import Organization
from consent_service.organizations.service import categories_by_code
from consent_service.policies.models import LEGAL_BASIS_CLAUSES, Purpose, PurposeVersion
from consent_service.policies.purposes import list_purposes
from consent_service.policies.service import current_policy
from consent_service.receipts.models import ConsentReceipt


class NoticeChanged(InvalidInput):
    """The purpose changed after the page was shown: the act would rest on another notice."""


@dataclass
class Card:
    """One purpose on the page, in the page's language."""

    code: str
    version: int
    kind: str  # basic, extended, separate
    name: str
    description: str
    processing_method: str | None
    legal_basis: str
    legal_basis_clause: str
    categories: list[dict[str, Any]]
    #: Why it needs its own consent: sensitive, third_party, public, abroad.
    separate_reasons: list[str]
    recipients: list[dict[str, Any]]
    cross_border: list[dict[str, Any]]
    retention_days: int | None
    allowed: bool
    reason: str
    change_note: str | None
    notice_sha256: str = ""
    is_granted: bool = False
    #: Actions the person can take now: give, withdraw (none for a basic function).
    actions: list[str] = field(default_factory=list)


def _pick(zh: str | None, en: str | None, lang: str) -> str | None:
    return zh if lang == "zh" else en


def _notice(version: PurposeVersion, lang: str, categories: list[dict[str, Any]]) -> dict[str, Any]:
    """The notice a card shows, as data: what the SHA-256 is taken over."""
    return {
        "purpose": version.purpose.code,
        "version": version.version,
        "language": lang,
        "name": _pick(version.name_zh, version.name_en, lang),
        "description": _pick(version.description_zh, version.description_en, lang),
        "processing_method": _pick(version.processing_method_zh, version.processing_method_en, lang),
        "legal_basis": version.legal_basis,
        "categories": [c["name"] for c in categories],
        "recipients": version.recipients or [],
        "cross_border_recipients": version.cross_border_recipients or [],
        "is_publicly_disclosed": bool(version.is_publicly_disclosed),
        "retention_days": version.retention_days,
    }


def notice_sha256(version: PurposeVersion, lang: str, categories: list[dict[str, Any]] | None = None) -> str:
    """The SHA-256 of the notice of ``version`` in ``lang`` (hex); ``categories`` as
    :func:`_categories` gives them, when the caller has them already."""
    if categories is None:
        categories = _categories(version, lang)
    return hashlib.sha256(canonical_json(_notice(version, lang, categories))).hexdigest()


def _categories(version: PurposeVersion, lang: str, rows: dict | None = None) -> list[dict[str, Any]]:
    """The version's PI categories in ``lang``; ``rows``: the catalogue rows, when read already."""
    codes = list(version.pi_categories or [])
    if rows is None:
        rows = categories_by_code(codes) if codes else {}
    return [
        {
            "code": c,
            "name": _pick(rows[c].name_zh, rows[c].name_en, lang),
            "is_sensitive": rows[c].is_sensitive,
        }
        for c in codes
    ]


def _kind(version: PurposeVersion) -> str:
    if version.legal_basis != "consent":
        return "basic"
    return "separate" if version.needs_separate_consent else "extended"


def _separate_reasons(version: PurposeVersion) -> list[str]:
    reasons = []
    if version.is_sensitive:
        reasons.append("sensitive")
    if version.recipients:
        reasons.append("third_party")
    if version.is_publicly_disclosed:
        reasons.append("public")
    if version.cross_border_recipients:
        reasons.append("abroad")
    return reasons


def cards(org: Organization, subject: Subject, lang: str, now: datetime) -> list[Card]:
    """Every purpose of the organization as the person sees it, with what they may do now:
    basic functions first, then extended ones, then those that need separate consent."""
    purposes = list_purposes(org)
    results = decide_many(org.id, org.timezone, [(subject.external_id, p.code) for p in purposes], now)
    codes = sorted({c for p in purposes for c in (p.current.pi_categories or [])})
    catalogue = categories_by_code(codes) if codes else {}  # one query for every card
    found = []
    for purpose, result in zip(purposes, results, strict=True):
        version = purpose.current
        categories = _categories(version, lang, catalogue)
        kind = _kind(version)
        card = Card(
            code=purpose.code,
            version=version.version,
            kind=kind,
            name=_pick(version.name_zh, version.name_en, lang),
            description=_pick(version.description_zh, version.description_en, lang),
            processing_method=_pick(version.processing_method_zh, version.processing_method_en, lang),
            legal_basis=version.legal_basis,
            legal_basis_clause=LEGAL_BASIS_CLAUSES.get(version.legal_basis, "PIPL 13"),
            categories=categories,
            separate_reasons=_separate_reasons(version) if kind == "separate" else [],
            recipients=version.recipients or [],
            cross_border=version.cross_border_recipients or [],
            retention_days=version.retention_days,
            allowed=result.allowed,
            reason=result.reason,
            change_note=version.change_note if result.reason == "reconsent_required" else None,
            notice_sha256=notice_sha256(version, lang, categories),
            is_granted=result.reason == "consent_granted",
        )
        if kind != "basic":
            card.actions = ["withdraw"] if card.is_granted else ["give"]
            if result.reason == "reconsent_required":
                card.actions = ["give", "withdraw"]
        found.append(card)
    order = {"basic": 0, "extended": 1, "separate": 2}
    return sorted(found, key=lambda c: order[c.kind])


def needs_guardian(org: Organization, subject: Subject, now: datetime) -> bool:
    """Whether a guardian acts for this person (under 14, PIPL 31)."""
    return is_minor(subject, org, now)


def act(
    org: Organization,
    subject: Subject,
    code: str,
    action: str,
    now: datetime,
    *,
    lang: str,
    seen_sha256: str | None,
    guardian_name: str | None = None,
    guardian_relationship: str | None = None,
    user_agent: str | None = None,
) -> ledger.ActResult:
    """Give or withdraw consent for one purpose, as the person (or their guardian) on the
    dashboard. A grant must be of the notice the person saw (``seen_sha256``)."""
    purpose = db.session.scalars(
        select(Purpose).where(Purpose.org_id == org.id, Purpose.code == code)
    ).first()
    if purpose is None:
        raise NotFound(f"no purpose {code!r}")
    version = purpose.current
    if action not in ("give", "withdraw"):
        raise InvalidInput("invalid act", {"action": [gettext("Choose to give or to withdraw consent.")]})
    if version.legal_basis != "consent":
        raise InvalidInput(
            "not on consent",
            {"action": [gettext("This function rests on another legal basis: there is nothing to switch.")]},
        )
    shown = notice_sha256(version, lang)
    if action == "give" and seen_sha256 != shown:
        raise NoticeChanged(
            "the notice changed",
            {"notice": [gettext("This purpose has changed since the page was shown. Read it again below.")]},
        )
    actor = Actor()
    if needs_guardian(org, subject, now):
        errors = {}
        if not guardian_name or len(guardian_name) > 200:
            errors["guardian_name"] = [gettext("Give the guardian's name.")]
        if not guardian_relationship or len(guardian_relationship) > 64:
            errors["guardian_relationship"] = [gettext("Say how the guardian is related to the child.")]
        if errors:
            raise InvalidInput("a guardian acts", errors)
        actor = Actor(kind="guardian", name=guardian_name.strip(), relationship=guardian_relationship.strip())
    consent_type = None
    if action == "give":
        required = required_consent(version)
        consent_type = "explicit" if required in ("none", "implied") else required
        if consent_type == "written":
            raise InvalidInput(
                "written consent",
                {
                    "action": [
                        gettext(
                            "This consent must be given in writing; the organization will ask you for it."
                        )
                    ]
                },
            )
    evidence: dict[str, Any] = {"notice_sha256": shown, "locale": "zh-CN" if lang == "zh" else "en"}
    if user_agent:
        evidence["user_agent"] = user_agent[:500]
    policy = current_policy(org, now)
    return ledger.record_act(
        org,
        subject,
        now,
        purposes=[code],
        action="grant" if action == "give" else "withdraw",
        consent_type=consent_type,
        method="web",
        actor=actor,
        evidence=evidence,
        policy_version=policy.label if policy is not None and action == "give" else None,
        is_subject_initiated=True,
    )


@dataclass(frozen=True)
class HistoryRow:
    """One act of the person's history."""

    seq: int
    at: datetime
    #: The time in the organization's zone, written for the page's language.
    when: str
    purpose: str
    action: str
    method: str
    actor_kind: str
    actor_name: str | None
    consent_type: str | None
    receipt_id: str | None
    receipt_erased: bool


def history(org: Organization, subject: Subject, lang: str) -> list[HistoryRow]:
    """Every act of the person, newest first, with its receipt where a grant has one."""
    names = {p.code: _pick(p.current.name_zh, p.current.name_en, lang) for p in list_purposes(org)}
    rows = db.session.execute(
        select(ConsentEvent, Purpose.code, ConsentReceipt.receipt_id, ConsentReceipt.jws)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(ConsentReceipt, ConsentReceipt.event_id == ConsentEvent.id)
        .where(ConsentEvent.subject_id == subject.id)
        .order_by(ConsentEvent.seq.desc())
    ).all()
    return [
        HistoryRow(
            seq=event.seq,
            at=event.occurred_at,
            when=local_datetime(event.occurred_at, org.timezone, lang),
            purpose=names.get(code, code),
            action=event.action,
            method=event.method,
            actor_kind=event.actor_kind,
            actor_name=event.actor_name if event.actor_kind == "guardian" else None,
            consent_type=event.consent_type,
            receipt_id=receipt_id,
            receipt_erased=receipt_id is not None and jws is None,
        )
        for event, code, receipt_id, jws in rows
    ]


def receipt_of(subject: Subject, receipt_id: str) -> ConsentReceipt:
    """One of the person's own receipts; :class:`NotFound` for anyone else's."""
    receipt = db.session.scalars(
        select(ConsentReceipt)
        .join(ConsentEvent, ConsentEvent.id == ConsentReceipt.event_id)
        .where(ConsentReceipt.receipt_id == receipt_id, ConsentEvent.subject_id == subject.id)
    ).first()
    if receipt is None or receipt.jws is None:
        raise NotFound(f"no receipt {receipt_id!r}")
    return receipt
