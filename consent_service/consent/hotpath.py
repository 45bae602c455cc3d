"""The decision route's hot path: one statement per call, no transaction, no ORM.

A company asks "may I?" before each processing step, so this answer sits on its hot path.
The bearer token check and the state read are one SQL statement scoped by the token's
organization: a revoked token is refused on the very next call, with no cache to invalidate,
and nothing of another organization can be read. On PostgreSQL the statement runs on an
autocommit connection (no BEGIN/ROLLBACK round trips; psycopg prepares it server-side after a
few uses); on SQLite it takes no write lock. A batch of pairs is one statement too. The rules
are the same :func:`evaluate` as :func:`~consent_service.consent.decisions.decide` uses.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque, namedtuple
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, and_, bindparam, create_engine, event, select, text
from sqlalchemy.sql import ClauseElement, Select

from consent_service.consent.decisions import Decision, Facts, StateFacts, evaluate
from consent_service.consent.models import ConsentState, Subject
from consent_service.consent.subjects import minor_at
from consent_service.database import SQLITE_BEGIN, configure_engine
from consent_service.extensions import db
from consent_service.oauth.guard import InsufficientScope, InvalidToken
from consent_service.oauth.models import OAuthClient, OAuthToken
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose, PurposeVersion
from consent_service.tokens import hash_secret


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
    """The hot path's connections not in use, each with its cursor, on an autocommit engine.

    Taking one and giving it back is a list operation: the pool's checkout and return cost
    about as much as the decision's statement itself on SQLite. The connections are taken out of the
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
            idle = self.free.pop()
        except IndexError:
            idle = None
        if idle is not None:
            try:
                return self._run(idle, sql, parameters)
            except self.engine.dialect.loaded_dbapi.Error:
                pass  # it broke while idle, and is closed: once more on a new one
        connection = self.engine.raw_connection()
        connection.detach()
        return self._run((connection, connection.cursor()), sql, parameters)

    def _run(self, pair: tuple[Any, Any], sql: str, parameters: Any) -> list[tuple]:
        """Run on ``pair`` (connection, cursor) and keep it idle; close it if it fails."""
        try:
            pair[1].execute(sql, parameters)
            rows = pair[1].fetchall()  # to the end: SQLite then ends the statement's read
        except BaseException:
            with contextlib.suppress(Exception):
                pair[0].close()
            raise
        self.free.append(pair)
        return rows

    def close_all(self) -> None:
        while self.free:
            with contextlib.suppress(Exception):
                self.free.pop()[0].close()


def _fetch_compiled(engine: Engine, statement: ClauseElement, params: dict[str, Any]) -> list[tuple]:
    """Every row of ``statement`` on an idle connection of ``engine``, skipping SQLAlchemy's
    execution layer. The SQL is compiled once per engine and statement."""
    cache = engine.__dict__.setdefault("_hot_sql", {})
    compiled = cache.get(id(statement))
    if compiled is None:
        done = statement.compile(dialect=engine.dialect)
        compiled = cache[id(statement)] = (str(done), list(done.positiontup or []))
    sql, names = compiled
    idle: _Idle = engine.__dict__["_decision_idle"]
    return idle.fetch(sql, tuple(params[n] for n in names) if names else params)


def _utc(value: Any) -> datetime | None:
    """A stored time as its column type gives it (SQLite: text; both: naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _date(value: Any) -> date | None:
    """A stored date as its column type gives it (SQLite: text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


#: A result row with attribute access (a named tuple: a failed attribute lookup before a
#: ``__getattr__`` would cost an exception per column read).
_Row = namedtuple("_Row", [c.name for c in STATEMENT.selected_columns])  # noqa: PYI024
_DATETIME_POSITIONS = [_Row._fields.index(name) for name in _DATETIMES]
_BIRTH_DATE_POSITION = _Row._fields.index("birth_date")


def _fetch_raw(engine: Engine, params: dict[str, str]) -> tuple | None:
    """The decision statement's row on the hot path's own connection, its values converted
    exactly as the column types would (UTC datetimes, dates)."""
    rows = _fetch_compiled(engine, STATEMENT, params)
    if not rows:
        return None
    values = list(rows[0])
    for index in _DATETIME_POSITIONS:
        values[index] = _utc(values[index])
    values[_BIRTH_DATE_POSITION] = _date(values[_BIRTH_DATE_POSITION])
    return _Row._make(values)


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


#: Every pair of a batch in one statement, in the order asked: the pairs go in as one
#: parameter (arrays on PostgreSQL, a JSON array on SQLite), and each probes the unique keys
#: of purpose and subject and the primary key of the state. The SQL is fixed, so PostgreSQL
#: prepares it once per connection.
_PAIR_COLUMNS = (
    "p.id, p.material_version, p.reconsent_policy_seq, v.version, v.legal_basis, "
    "s.id, s.is_under_14, s.birth_date, "
    "st.status, st.purpose_version, st.policy_seq, st.is_guardian_act, st.expires_at, st.refused_at, "
    "st.event_uuid"
)
_PAIR_JOINS = (
    "LEFT JOIN purpose p ON p.org_id = :org_id AND p.code = q.purpose "
    "LEFT JOIN purpose_version v ON v.purpose_id = p.id AND v.version = p.current_version "
    "LEFT JOIN subject s ON s.org_id = :org_id AND s.external_id = q.subject "
    "LEFT JOIN consent_state st ON st.subject_id = s.id AND st.purpose_id = p.id "
    "ORDER BY q.n"
)
PAIRS_SQL = {
    "postgresql": f"SELECT {_PAIR_COLUMNS} FROM unnest(CAST(:subjects AS varchar[]), "  # noqa: S608
    f"CAST(:purposes AS varchar[])) WITH ORDINALITY AS q(subject, purpose, n) {_PAIR_JOINS}",
    # LEFT JOINs keep json_each the outer loop, so every other table is probed by key.
    "sqlite": f"SELECT {_PAIR_COLUMNS} FROM (SELECT key AS n, json_extract(value, '$[0]') AS subject, "  # noqa: S608
    f"json_extract(value, '$[1]') AS purpose FROM json_each(:pairs)) q {_PAIR_JOINS}",
}
PAIRS_STATEMENTS = {dialect: text(sql) for dialect, sql in PAIRS_SQL.items()}
#: Positions in a row of :data:`PAIRS_SQL`.
_P_ID, _P_MATERIAL, _P_RECONSENT, _V_VERSION, _V_BASIS = range(5)
_S_ID, _S_UNDER_14, _S_BIRTH = range(5, 8)
_ST_STATUS, _ST_VERSION, _ST_POLICY, _ST_GUARDIAN, _ST_EXPIRES, _ST_REFUSED, _ST_EVENT = range(8, 15)


def _pair_rows(org_id: int, pairs: list[tuple[str, str]]) -> list[tuple]:
    """One row per pair, in order, on the hot path's own connection (or in the session's
    transaction when the configuration says so)."""
    autocommit = current_app.config["READ_AUTOCOMMIT"]
    engine = read_engine() if autocommit else db.session.get_bind()
    dialect = engine.dialect.name
    if dialect == "postgresql":
        params: dict[str, Any] = {
            "org_id": org_id,
            "subjects": [s for s, _ in pairs],
            "purposes": [p for _, p in pairs],
        }
    else:
        params = {"org_id": org_id, "pairs": json.dumps(pairs)}
    if not autocommit:  # inside the caller's transaction (tests that roll back)
        return [tuple(r) for r in db.session.execute(PAIRS_STATEMENTS[dialect], params)]
    return _fetch_compiled(engine, PAIRS_STATEMENTS[dialect], params)


def decide_many(org_id: int, timezone: str, pairs: list[tuple[str, str]], now: datetime) -> list[Decision]:
    """Decide for many (subject, purpose) pairs, in order, with one statement."""
    rows = _pair_rows(org_id, pairs)
    hours = current_app.config["REPROMPT_AFTER_REFUSAL_HOURS"]
    minors: dict[int, bool] = {}
    decisions = []
    for row in rows:
        subject_id = row[_S_ID]
        if subject_id is not None and subject_id not in minors:
            minors[subject_id] = minor_at(bool(row[_S_UNDER_14]), _date(row[_S_BIRTH]), timezone, now)
        facts = Facts(
            purpose_known=row[_P_ID] is not None,
            subject_known=subject_id is not None,
            basis=row[_V_BASIS],
            purpose_version=row[_V_VERSION],
            material_version=row[_P_MATERIAL] or 0,
            reconsent_policy_seq=row[_P_RECONSENT] or 0,
            is_minor=minors.get(subject_id, False),
            state=None
            if row[_ST_STATUS] is None
            else StateFacts(
                status=row[_ST_STATUS],
                purpose_version=row[_ST_VERSION],
                policy_seq=row[_ST_POLICY],
                is_guardian_act=bool(row[_ST_GUARDIAN]),
                expires_at=_utc(row[_ST_EXPIRES]),
                refused_at=_utc(row[_ST_REFUSED]),
                event_uuid=row[_ST_EVENT],
            ),
        )
        decisions.append(evaluate(facts, now, now, hours))
    return decisions
