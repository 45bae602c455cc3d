"""The decision route's hot path: one statement per call, no transaction, no ORM.

A company asks "may I?" before each processing step, so this answer sits on its hot path.
The bearer token check and the state read are one SQL statement scoped by the token's
organization: a revoked token is refused on the very next call, with no cache to invalidate,
and nothing of another organization can be read. On PostgreSQL the statement runs on an
autocommit connection (no BEGIN/ROLLBACK round trips; psycopg prepares it server-side after a
few uses); on SQLite it takes no write lock. The rules are the same :func:`evaluate` as
:func:`~consent_service.consent.decisions.decide` uses.
"""

from __future__ import annotations

import contextlib
from collections import deque, namedtuple
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, and_, bindparam, create_engine, event, select
from sqlalchemy.sql import Select

from consent_service.consent.decisions import Decision, Facts, StateFacts, evaluate
from consent_service.consent.models import ConsentState, Subject
from consent_service.consent.rows import state_pairs
from consent_service.consent.subjects import minor_at
from consent_service.database import SQLITE_BEGIN, configure_engine, in_values
from consent_service.extensions import db
from consent_service.oauth.guard import InsufficientScope, InvalidToken
from consent_service.oauth.models import OAuthClient, OAuthToken
from consent_service.oauth.service import hash_secret
from consent_service.policies.models import Organization, Purpose, PurposeVersion


def _statement() -> Select:
    token, client, org = OAuthToken.__table__, OAuthClient.__table__, Organization.__table__
    purpose, version = Purpose.__table__, PurposeVersion.__table__
    subject, state = Subject.__table__, ConsentState.__table__
    return (
        select(
            token.c.scope,
            token.c.expires_at,
            token.c.revoked_at,
            client.c.revoked_at.label("client_revoked_at"),
            org.c.timezone,
            purpose.c.id.label("purpose_id"),
            purpose.c.material_version,
            purpose.c.reconsent_policy_seq,
            version.c.version.label("purpose_version"),
            version.c.legal_basis,
            subject.c.id.label("subject_id"),
            subject.c.is_under_14,
            subject.c.birth_date,
            state.c.status,
            state.c.purpose_version.label("state_purpose_version"),
            state.c.policy_seq,
            state.c.is_guardian_act,
            state.c.expires_at.label("state_expires_at"),
            state.c.refused_at,
            state.c.event_uuid,
        )
        .select_from(token)
        .join(client, client.c.id == token.c.client_pk)
        .join(org, org.c.id == token.c.org_id)
        .outerjoin(purpose, and_(purpose.c.org_id == token.c.org_id, purpose.c.code == bindparam("purpose")))
        .outerjoin(
            version,
            and_(version.c.purpose_id == purpose.c.id, version.c.version == purpose.c.current_version),
        )
        .outerjoin(
            subject, and_(subject.c.org_id == token.c.org_id, subject.c.external_id == bindparam("subject"))
        )
        .outerjoin(state, and_(state.c.subject_id == subject.c.id, state.c.purpose_id == purpose.c.id))
        .where(token.c.access_token_hash == bindparam("token_hash"))
    )


STATEMENT = _statement()


def read_engine(app: Flask | None = None) -> Engine:
    """The engine for read-only hot paths: its own pool of autocommit connections.

    A separate engine rather than execution options on the main one: switching a pooled
    connection's isolation level costs a statement at every checkout and return.
    """
    app = app or current_app
    engine = app.extensions.get("read_engine")
    if engine is None:
        main = db.engine
        engine = create_engine(
            main.url,
            isolation_level="AUTOCOMMIT",
            execution_options={SQLITE_BEGIN: "NONE"},
            pool_reset_on_return=None,  # autocommit: there is never a transaction to end
        )
        configure_engine(engine)
        engine.__dict__["_decision_idle"] = _Idle(engine)
        app.extensions["read_engine"] = engine
    return engine


_DATETIMES = ("expires_at", "revoked_at", "client_revoked_at", "state_expires_at", "refused_at")


class _Idle:
    """The statement's connections not in use, each with its cursor, on an autocommit engine.

    Taking one and giving it back is a list operation: the pool's checkout and return cost
    about as much as the statement itself on SQLite. The connections are taken out of the
    pool (detached), so they are closed here: when one fails, and when the engine is
    disposed. Nothing is held between calls: the connection is in autocommit and every
    result is read to its end (no snapshot, no lock). An idle connection that fails (the
    server restarted while it waited) is closed and the call is made once more on a new one.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.free: deque[tuple[Any, Any]] = deque()
        event.listen(engine, "engine_disposed", lambda _engine: self.close_all())

    def fetch(self, sql: str, parameters: Any) -> list[tuple]:
        """Every row of ``sql`` with ``parameters``."""
        try:
            connection, cursor = self.free.pop()
        except IndexError:
            return self._fetch_on_new(sql, parameters)
        try:
            cursor.execute(sql, parameters)
            rows = cursor.fetchall()  # to the end: SQLite then ends the statement's read
        except self.engine.dialect.loaded_dbapi.Error:
            with contextlib.suppress(Exception):
                connection.close()
            return self._fetch_on_new(sql, parameters)
        self.free.append((connection, cursor))
        return rows

    def _fetch_on_new(self, sql: str, parameters: Any) -> list[tuple]:
        connection = self.engine.raw_connection()
        connection.detach()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            rows = cursor.fetchall()
        except BaseException:
            with contextlib.suppress(Exception):
                connection.close()
            raise
        self.free.append((connection, cursor))
        return rows

    def close_all(self) -> None:
        while self.free:
            with contextlib.suppress(Exception):
                self.free.pop()[0].close()


def _compiled(engine: Engine) -> tuple[str, list[str], list[int], int | None]:
    """The statement's SQL for ``engine``'s dialect (compiled once), the order of its
    parameters, the positions of its datetime columns and that of the birth date."""
    compiled = engine.__dict__.get("_decision_sql")
    if compiled is None:
        statement = STATEMENT.compile(dialect=engine.dialect)
        columns = [c.name for c in STATEMENT.selected_columns]
        compiled = engine.__dict__["_decision_sql"] = (
            str(statement),
            list(statement.positiontup or []),
            [columns.index(name) for name in _DATETIMES],
            columns.index("birth_date"),
        )
    return compiled


def _fetch_raw(engine: Engine, params: dict[str, str]) -> tuple | None:
    """Run the statement on an idle DBAPI connection of the engine, skipping SQLAlchemy's
    execution layer; values are converted here exactly as the column types would (UTC
    datetimes, dates)."""
    sql, names, datetimes, birth_date = _compiled(engine)
    idle: _Idle = engine.__dict__["_decision_idle"]
    rows = idle.fetch(sql, tuple(params[n] for n in names) if names else params)
    if not rows:
        return None
    values = list(rows[0])
    for index in datetimes:
        value = values[index]
        if value is not None:
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            values[index] = value.replace(tzinfo=UTC)
    if isinstance(values[birth_date], str):
        values[birth_date] = date.fromisoformat(values[birth_date])
    return _Row._make(values)


#: A result row with attribute access (a named tuple: a failed attribute lookup before a
#: ``__getattr__`` would cost an exception per column read).
_Row = namedtuple("_Row", [c.name for c in STATEMENT.selected_columns])  # noqa: PYI024


def decide_with_token(token: str, subject: str, purpose: str, scope: str, now: datetime) -> Decision:
    """Authenticate ``token`` for ``scope`` and decide, in one round trip."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  (one proxy lookup)
    config = app.config
    params = {"token_hash": hash_secret(token), "subject": subject, "purpose": purpose}
    if config["READ_AUTOCOMMIT"]:
        row = _fetch_raw(read_engine(app), params)
    else:  # inside the caller's transaction (tests that roll back)
        row = db.session.execute(STATEMENT, params).first()
    if row is None or row.revoked_at is not None or row.client_revoked_at is not None:
        raise InvalidToken("the access token is unknown or revoked")
    if row.expires_at <= now:
        raise InvalidToken("the access token has expired")
    if scope not in row.scope.split():
        raise InsufficientScope(scope)
    state = None
    if row.status is not None:
        state = StateFacts(
            status=row.status,
            purpose_version=row.state_purpose_version,
            policy_seq=row.policy_seq,
            is_guardian_act=bool(row.is_guardian_act),
            expires_at=row.state_expires_at,
            refused_at=row.refused_at,
            event_uuid=row.event_uuid,
        )
    facts = Facts(
        purpose_known=row.purpose_id is not None,
        subject_known=row.subject_id is not None,
        basis=row.legal_basis,
        purpose_version=row.purpose_version,
        material_version=row.material_version or 0,
        reconsent_policy_seq=row.reconsent_policy_seq or 0,
        is_minor=row.subject_id is not None
        and minor_at(bool(row.is_under_14), row.birth_date, row.timezone, now),
        state=state,
    )
    return evaluate(facts, now, now, config["REPROMPT_AFTER_REFUSAL_HOURS"])


def decide_many(org_id: int, timezone: str, pairs: list[tuple[str, str]], now: datetime) -> list[Decision]:
    """Decide for many (subject, purpose) pairs with three set-based queries, in order."""
    purpose, version = Purpose.__table__, PurposeVersion.__table__
    subject, state = Subject.__table__, ConsentState.__table__
    codes = sorted({p for _, p in pairs})
    external_ids = sorted({s for s, _ in pairs})
    connection = read_engine().connect() if current_app.config["READ_AUTOCOMMIT"] else None
    run = connection.execute if connection is not None else db.session.execute
    dialect = (connection.dialect if connection is not None else db.session.get_bind().dialect).name
    try:
        purposes = {
            r.code: r
            for r in run(
                select(
                    purpose.c.id,
                    purpose.c.code,
                    purpose.c.material_version,
                    purpose.c.reconsent_policy_seq,
                    version.c.version,
                    version.c.legal_basis,
                )
                .join(
                    version,
                    and_(
                        version.c.purpose_id == purpose.c.id, version.c.version == purpose.c.current_version
                    ),
                )
                .where(purpose.c.org_id == org_id, purpose.c.code.in_(codes))
            )
        }
        subjects = {
            r.external_id: r
            for r in run(
                select(
                    subject.c.id, subject.c.external_id, subject.c.is_under_14, subject.c.birth_date
                ).where(subject.c.org_id == org_id, in_values(dialect, subject.c.external_id, external_ids))
            )
        }
        states = {}
        # Only the pairs asked for.
        condition = state_pairs(
            dialect,
            ((subjects[s].id, purposes[p].id) for s, p in pairs if s in subjects and p in purposes),
        )
        if condition is not None:
            states = {(r.subject_id, r.purpose_id): r for r in run(select(state).where(condition))}
    finally:
        if connection is not None:
            connection.close()
    hours = current_app.config["REPROMPT_AFTER_REFUSAL_HOURS"]
    minors: dict[int, bool] = {}
    decisions = []
    for external_id, code in pairs:
        p, s = purposes.get(code), subjects.get(external_id)
        row = states.get((s.id, p.id)) if (p is not None and s is not None) else None
        if s is not None and s.id not in minors:
            minors[s.id] = minor_at(bool(s.is_under_14), s.birth_date, timezone, now)
        facts = Facts(
            purpose_known=p is not None,
            subject_known=s is not None,
            basis=p.legal_basis if p else None,
            purpose_version=p.version if p else None,
            material_version=p.material_version if p else 0,
            reconsent_policy_seq=p.reconsent_policy_seq if p else 0,
            is_minor=minors.get(s.id, False) if s else False,
            state=None
            if row is None
            else StateFacts(
                status=row.status,
                purpose_version=row.purpose_version,
                policy_seq=row.policy_seq,
                is_guardian_act=bool(row.is_guardian_act),
                expires_at=row.expires_at,
                refused_at=row.refused_at,
                event_uuid=row.event_uuid,
            ),
        )
        decisions.append(evaluate(facts, now, now, hours))
    return decisions
