"""What a published change means for the consents given (PIPL 14, 17).

Re-consent is computed, not written: a decision compares the version and policy sequence a
consent was given under with the purpose's ``material_version`` and ``reconsent_policy_seq``.
Publishing only needs to say how many consents in force that affects.
"""

from __future__ import annotations

from sqlalchemy import func, select

from consent_service.consent.models import ConsentState
from consent_service.extensions import db


def consents_needing_reconsent(purpose_ids: list[int], policy_seq: int) -> int:
    """Grants in force to these purposes that were given under a policy published before
    ``policy_seq`` (what :class:`~consent_service.policies.service.ReconsentCounter` asks)."""
    if not purpose_ids:
        return 0
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ConsentState)
            .where(
                ConsentState.purpose_id.in_(purpose_ids),
                ConsentState.status == "granted",
                ConsentState.policy_seq < policy_seq,
            )
        )
        or 0
    )
