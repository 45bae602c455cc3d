"""What someone who can write to the database, but lacks ``SECRET_KEY``, can do to the ledger.

Every change is raw SQL behind the ORM (as in ``tests/consent/test_ledger.py``); the attacker's
own computations (chain hashes, Merkle roots, signatures) use the service's public algorithms,
which anyone can rerun. Only the secret is out of reach.
"""

from __future__ import annotations

import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, text

from consent_service.audit.checkpoints import CHECKPOINT_TYPE, checkpoint_payload, merkle_root
from consent_service.audit.models import LedgerCheckpoint
from consent_service.canonical import canonical_json
from consent_service.consent import hashing
from consent_service.consent.models import ConsentEvent, Subject
from consent_service.consent.rows import EventRow
from consent_service.database import stored_time
from consent_service.receipts import keys
from tests.conftest import T0


def tamper(db, sql: str, **params) -> None:
    """Change stored rows behind the ORM's back, then forget what the session has cached."""
    db.session.execute(text(sql), params)
    db.session.expire_all()


def stored(db, value):
    """A time as the service stores it, for raw SQL."""
    return stored_time(db.session.get_bind().dialect.name, value)


def events_of(db, subject) -> list[ConsentEvent]:
    """A person's stored events in chain order."""
    return list(
        db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.subject_id == subject.id).order_by(ConsentEvent.seq)
        )
    )


class Attacker:
    """An ES256 key of the attacker's own, and the rewrites it makes possible."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = keys.public_jwk(self.private_key)
        self.kid = self.jwk["kid"]

    def sign(self, payload: dict, typ: str, kid: str | None = None) -> str:
        """A compact JWS of ``payload`` with the attacker's key, under ``kid`` (their own)."""
        header = {"alg": "ES256", "kid": kid or self.kid, "typ": typ}
        return keys._compact_es256(header, canonical_json(payload), self.private_key)

    def own_pem(self) -> str:
        """The attacker's private key, encrypted with a password of their choosing."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"the attacker's password"),
        ).decode()

    def add_key(self, db, *, pem: str | None = None, jwk: dict | None = None, kid: str | None = None) -> None:
        """Insert a signing-key row (by default: the attacker's key, with their own PEM)."""
        jwk = jwk or self.jwk
        tamper(
            db,
            "INSERT INTO signing_key (kid, alg, public_jwk, private_pem_encrypted, is_active, created_at) "
            "VALUES (:kid, 'ES256', :jwk, :pem, false, :at)",
            kid=kid or jwk["kid"],
            jwk=json.dumps(jwk),
            pem=pem or self.own_pem(),
            at=stored(db, T0),
        )

    def resign_checkpoints(self, db, org) -> None:
        """Recompute every checkpoint of ``org`` over the chains as they are now, chained, hashed
        and signed with the attacker's key."""
        heads = {
            row.id: (row.chain_seq, row.chain_head)
            for row in db.session.execute(select(Subject.id, Subject.chain_seq, Subject.chain_head))
        }
        prev_hash = None
        checkpoints = db.session.scalars(
            select(LedgerCheckpoint).where(LedgerCheckpoint.org_id == org.id).order_by(LedgerCheckpoint.seq)
        ).all()
        for cp in checkpoints:
            leaves = [(sid, heads[sid][0], heads[sid][1]) for sid, _ in cp.leaves]
            cp.leaves = [[sid, seq] for sid, seq, _ in leaves]
            cp.merkle_root = merkle_root(leaves)
            cp.prev_hash = prev_hash
            payload = checkpoint_payload(cp, org.slug)
            cp.hash = hashlib.sha256(canonical_json(payload)).hexdigest()
            cp.kid, cp.signature = self.kid, self.sign(payload, CHECKPOINT_TYPE)
            prev_hash = cp.hash
        db.session.flush()
        db.session.expire_all()


def rehash_chain(db, subject) -> None:
    """Recompute a person's chain hashes (and head) over its stored content, as anyone can."""
    prev = None
    for event in events_of(db, subject):
        row = EventRow.from_model(event)
        row.prev_hash = prev
        digest = hashing.event_hash(row, row.purpose_code)
        tamper(
            db,
            "UPDATE consent_event SET prev_hash = :p, hash = :h WHERE id = :id",
            p=prev,
            h=digest,
            id=event.id,
        )
        prev = digest
    count = len(events_of(db, subject))
    tamper(
        db,
        "UPDATE subject SET chain_seq = :n, chain_head = :h WHERE id = :id",
        n=count,
        h=prev,
        id=subject.id,
    )


def turn_withdrawal_into_grant(db, subject, withdrawal: ConsentEvent) -> None:
    """Make a withdrawal a grant, recompute the chain, and move the state row to match."""
    tamper(
        db,
        "UPDATE consent_event SET action = 'grant', consent_type = 'explicit' WHERE id = :id",
        id=withdrawal.id,
    )
    rehash_chain(db, subject)
    tamper(
        db,
        "UPDATE consent_state SET status = 'granted', consent_type = 'explicit' "
        "WHERE subject_id = :s AND purpose_id = :p",
        s=subject.id,
        p=withdrawal.purpose_id,
    )


def drop_last_event(db, subject) -> None:
    """Delete a person's newest event and rewind the head and the state, leaving no trace in
    the chain itself (the state row goes back to what the remaining events imply)."""
    *rest, last = events_of(db, subject)
    tamper(db, "DELETE FROM consent_receipt WHERE event_id = :id", id=last.id)
    before = [e for e in rest if e.purpose_id == last.purpose_id]
    if before:
        previous = before[-1]
        tamper(
            db,
            "UPDATE consent_state SET status = :status, event_id = :eid, event_uuid = :uuid, "
            "consent_type = :ct, occurred_at = :at, expires_at = :exp "
            "WHERE subject_id = :s AND purpose_id = :p",
            status={"grant": "granted", "withdraw": "withdrawn"}[previous.action],
            eid=previous.id,
            uuid=previous.uuid,
            ct=previous.consent_type,
            at=stored(db, previous.occurred_at),
            exp=stored(db, previous.expires_at),
            s=subject.id,
            p=last.purpose_id,
        )
    else:
        tamper(
            db,
            "DELETE FROM consent_state WHERE subject_id = :s AND purpose_id = :p",
            s=subject.id,
            p=last.purpose_id,
        )
    tamper(db, "DELETE FROM consent_event WHERE id = :id", id=last.id)
    head = rest[-1].hash if rest else None
    tamper(
        db,
        "UPDATE subject SET chain_seq = :n, chain_head = :h WHERE id = :id",
        n=len(rest),
        h=head,
        id=subject.id,
    )
