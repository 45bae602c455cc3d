"""The SQL back end of :func:`~consent_service.consent.decisions.decide` for the present (and
the future): one statement per call or per batch, no transaction, no ORM.

A company asks "may I?" before each processing step, so this answer sits on its hot path. The
boundary is explicit: the facts a decision needs are read here in one statement (the same
columns for one pair and for a batch, turned into :class:`Facts` by one function), and the
rules are the same pure :func:`evaluate` that ``decide()`` applies; the past, which needs the
history folded, is ``decide()``'s alone. ``tests/consent/test_hotpath.py`` holds both equal for
every reason code and every moment.

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
from collections import deque
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.sql import ClauseElement

from consent_service.consent.decisions import Decision, Facts, evaluate
from consent_service.consent.state import STATE_FIELDS, STATE_TIMES, StateView
from consent_service.consent.subjects import minor_at
from consent_service.database import SQLITE_BEGIN, configure_engine
from consent_service.extensions import db
from consent_service.oauth.guard import check_scope, check_token
from consent_service.tokens import hash_secret

#: What every decision reads, the same columns for one pair and for a batch: the purpose and
#: its current version, the person, and the state (its fields in :class:`StateView` order).
_FACT_COLUMNS = (
    "p.id, p.material_version, p.reconsent_policy_seq, v.version, v.legal_basis, "
    "s.id, s.is_under_14, s.birth_date, " + ", ".join(f"st.{name}" for name in STATE_FIELDS)
)
_P_ID, _P_MATERIAL, _P_RECONSENT, _V_VERSION, _V_BASIS, _S_ID, _S_UNDER_14, _S_BIRTH = range(8)
#: Where the state's fields start in a row of facts, and which of them are times.
_STATE_START = 8
_STATE_TIMES = [_STATE_START + i for i, name in enumerate(STATE_FIELDS) if name in STATE_TIMES]
_STATE_BOOLS = [_STATE_START + STATE_FIELDS.index("is_guardian_act")]
_STATE_END = _STATE_START + len(STATE_FIELDS)


def _fact_joins(org: str, subject: str, purpose: str) -> str:
    """The joins that probe purpose, version, person and state by key (SQL of constants)."""
    return (
        f"LEFT JOIN purpose p ON p.org_id = {org} AND p.code = {purpose} "
        "LEFT JOIN purpose_version v ON v.purpose_id = p.id AND v.version = p.current_version "
        f"LEFT JOIN subject s ON s.org_id = {org} AND s.external_id = {subject} "
        "LEFT JOIN consent_state st ON st.subject_id = s.id AND st.purpose_id = p.id "
    )


#: One decision: the bearer token (by its hash), its client and organization, and the facts,
#: scoped by the token's organization (nothing of another organization can be read).
_TOKEN_COLUMNS = "t.scope, t.expires_at, t.revoked_at, c.revoked_at, o.timezone, "  # noqa: S105
_T_SCOPE, _T_EXPIRES, _T_REVOKED, _C_REVOKED, _O_TIMEZONE, _TOKEN_END = range(6)
SINGLE_SQL = (
    f"SELECT {_TOKEN_COLUMNS}{_FACT_COLUMNS} FROM oauth_token t "  # noqa: S608  (constants only)
    "JOIN oauth_client c ON c.id = t.client_pk JOIN organization o ON o.id = t.org_id "
    + _fact_joins("t.org_id", ":subject", ":purpose")
    + "WHERE t.access_token_hash = :token_hash"
)
STATEMENT = text(SINGLE_SQL)
#: Every pair of a batch in one statement, in the order asked: the pairs go in as one
#: parameter (arrays on PostgreSQL, a JSON array on SQLite), and each probes the unique keys
#: of purpose and subject and the primary key of the state. The SQL is fixed, so PostgreSQL
#: prepares it once per connection.
PAIRS_SQL = {
    "postgresql": f"SELECT {_FACT_COLUMNS} FROM unnest(CAST(:subjects AS varchar[]), "  # noqa: S608
    "CAST(:purposes AS varchar[])) WITH ORDINALITY AS q(subject, purpose, n) "
    + _fact_joins(":org_id", "q.subject", "q.purpose")
    + "ORDER BY q.n",
    # LEFT JOINs keep json_each the outer loop, so every other table is probed by key.
    "sqlite": f"SELECT {_FACT_COLUMNS} FROM (SELECT key AS n, json_extract(value, '$[0]') AS subject, "  # noqa: S608
    "json_extract(value, '$[1]') AS purpose FROM json_each(:pairs)) q "
    + _fact_joins(":org_id", "q.subject", "q.purpose")
    + "ORDER BY q.n",
}
PAIRS_STATEMENTS = {dialect: text(sql) for dialect, sql in PAIRS_SQL.items()}


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


def _facts(row: tuple, start: int, timezone: str, at: datetime, minors: dict[int, bool]) -> Facts:
    """The facts of one decision from a row of :data:`_FACT_COLUMNS` beginning at ``start``,
    values converted exactly as the column types would (UTC datetimes, dates, booleans). The
    age rule is applied at ``at`` in the organization's zone, once per person of a batch."""
    subject_id = row[start + _S_ID]
    if subject_id is not None and subject_id not in minors:
        minors[subject_id] = minor_at(
            bool(row[start + _S_UNDER_14]), _date(row[start + _S_BIRTH]), timezone, at
        )
    state = None
    if row[start + _STATE_START] is not None:
        values = list(row[start + _STATE_START : start + _STATE_END])
        for index in _STATE_TIMES:
            values[index - _STATE_START] = _utc(values[index - _STATE_START])
        for index in _STATE_BOOLS:
            values[index - _STATE_START] = bool(values[index - _STATE_START])
        state = StateView(*values)
    return Facts(
        purpose_known=row[start + _P_ID] is not None,
        subject_known=subject_id is not None,
        basis=row[start + _V_BASIS],
        purpose_version=row[start + _V_VERSION],
        material_version=row[start + _P_MATERIAL] or 0,
        reconsent_policy_seq=row[start + _P_RECONSENT] or 0,
        is_minor=minors.get(subject_id, False),
        state=state,
    )


def decide_with_token(token: str, subject: str, purpose: str, scope: str, now: datetime) -> Decision:
    """Authenticate ``token`` for ``scope`` and decide for now, in one round trip."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  (one proxy lookup)
    config = app.config
    params = {"token_hash": hash_secret(token), "subject": subject, "purpose": purpose}
    if config["READ_AUTOCOMMIT"]:
        rows = _fetch_compiled(read_engine(app), STATEMENT, params)
    else:  # inside the caller's transaction (tests that roll back)
        rows = [tuple(r) for r in db.session.execute(STATEMENT, params)]
    if not rows:
        check_token(None, None, None, now)
    row = rows[0]
    check_token(_utc(row[_T_REVOKED]), _utc(row[_C_REVOKED]), _utc(row[_T_EXPIRES]), now)
    check_scope(row[_T_SCOPE].split(), scope)
    facts = _facts(row, _TOKEN_END, row[_O_TIMEZONE], now, {})
    return evaluate(facts, now, now, config["REPROMPT_AFTER_REFUSAL_HOURS"])


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


def decide_many(
    org_id: int, timezone: str, pairs: list[tuple[str, str]], now: datetime, at: datetime | None = None
) -> list[Decision]:
    """Decide for many (subject, purpose) pairs at ``at`` (now, or a moment to come: the
    current state then, as :func:`~consent_service.consent.decisions.decide` answers), in order,
    with one statement. The past is :func:`decide`'s: it folds history."""
    at = now if at is None else at
    if at < now:
        raise ValueError("decide_many answers for now or later; decide() knows the past")
    rows = _pair_rows(org_id, pairs)
    hours = current_app.config["REPROMPT_AFTER_REFUSAL_HOURS"]
    minors: dict[int, bool] = {}
    return [evaluate(_facts(row, 0, timezone, at, minors), at, now, hours) for row in rows]
