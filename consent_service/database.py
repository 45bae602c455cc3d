"""Engine settings that make SQLite and PostgreSQL behave alike."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Integer, any_, bindparam, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine

from consent_service.types import UTCDateTime

#: How much of a SQLite database each connection reads through a memory map (address space,
#: not memory: the pages are the operating system's file cache, shared by every process).
SQLITE_MMAP_BYTES = 1 << 30


def configure_engine(engine: Engine) -> None:
    """Set SQLite up for a service: foreign keys, WAL, a busy timeout, memory-mapped reads,
    real transactions.

    pysqlite's own transaction handling does not emit BEGIN before SELECTs, which breaks
    SAVEPOINTs and read consistency; the documented recipe hands BEGIN to SQLAlchemy.
    Transactions begin IMMEDIATE: a writer takes the database's write lock up front and
    waits for it (busy timeout) instead of failing when two processes read-then-write.
    Read-only requests say so (:func:`read_only_transaction`) and begin DEFERRED.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            # Reads through a memory map instead of a read() per page: on a database larger
            # than the page cache, random lookups (decisions) each cost several system calls.
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        options = conn.get_execution_options()
        if options.get(SQLITE_BEGIN) == "NONE":
            return  # read-only hot paths: no transaction, no lock
        conn.exec_driver_sql(f"BEGIN {options.get(SQLITE_BEGIN, 'IMMEDIATE')}")


#: Execution option naming how a SQLite transaction begins: IMMEDIATE (the default: it may
#: write), DEFERRED (a read-only request, which must not queue behind writers) or NONE (an
#: autocommit engine: no transaction at all).
SQLITE_BEGIN = "sqlite_begin"


def read_only_transaction(session) -> None:
    """Mark the session's next transaction read-only (SQLite: BEGIN DEFERRED, no write lock)."""
    session = session() if callable(session) else session  # a scoped_session's current Session
    bind = session.get_bind()
    # Only a session that will open its own connection can choose how it begins (a test's
    # session joins an open transaction instead).
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})


def snapshot_transaction(session) -> None:
    """Begin the session's next transaction on one consistent snapshot of the database
    (PostgreSQL: REPEATABLE READ; SQLite: a deferred read transaction, a WAL snapshot)."""
    session = session() if callable(session) else session
    bind = session.get_bind()
    if not isinstance(bind, Engine) or session.in_transaction():
        return
    if bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        read_only_transaction(session)


#: SQLAlchemy's own writer of SQLite DATETIME text.
_SQLITE_DATETIME = sqlite.DATETIME().bind_processor(sqlite.dialect())
_UTC_DATETIME = UTCDateTime()


def skipping_locked(session, query, of=None):
    """``query`` as a claim: on PostgreSQL its rows (of ``of``) are locked ``FOR UPDATE SKIP
    LOCKED``, so that processes running the same job at once take different rows; SQLite's write
    lock (``BEGIN IMMEDIATE``) serializes them already."""
    if session.get_bind().dialect.name != "postgresql":
        return query
    return query.with_for_update(skip_locked=True, of=of)


def stored_time(dialect: str, value: datetime | None) -> datetime | str | None:
    """A time exactly as :class:`~consent_service.types.UTCDateTime` stores it, for rows written
    with the driver directly (SQLite keeps times as text, compared as text)."""
    naive = _UTC_DATETIME.process_bind_param(value, None)
    return naive if naive is None or dialect == "postgresql" else _SQLITE_DATETIME(naive)


def insert_rows(session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert plain rows in the session's transaction: ``COPY`` on PostgreSQL, ``executemany``
    on SQLite. ``table`` and ``columns`` are constants of the code, never input."""
    if not rows:
        return
    names = ", ".join(columns)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        placeholders = ", ".join("?" * len(columns))
        driver_execute(session, f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows, many=True)  # noqa: S608
        return
    with (
        closing(connection.connection.driver_connection.cursor()) as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def driver_execute(session, sql: str, params: Any = None, *, many: bool = False) -> None:
    """Run ``sql`` with the driver itself in the session's transaction (``executemany`` with
    ``many``): for statements SQLAlchemy would only slow down, written from constants."""
    with closing(session.connection().connection.driver_connection.cursor()) as cursor:
        if many:
            cursor.executemany(sql, params)
        elif params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)


def in_values(dialect: str, column, values: Iterable[Any]):
    """``column IN (values)``; on PostgreSQL as ``= ANY(array)``, one parameter, because a
    batch or an import names thousands of values and each would be a parameter to send and
    parse."""
    values = list(values)
    if dialect == "postgresql":
        item_type = BigInteger() if isinstance(column.type, Integer) else column.type
        return column == any_(bindparam(None, values, type_=ARRAY(item_type)))
    return column.in_(values)


#: SQLSTATEs of waits that ran out: lock_not_available, deadlock_detected, serialization_failure.
BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
UNIQUE_VIOLATION = "23505"


def failure_kind(exc: BaseException) -> str | None:
    """What a database error means for the request that met it, on either database and
    whether SQLAlchemy wrapped it or the driver raised it (``COPY``, ``executemany``):
    ``"unique"`` when a concurrent writer took a unique value first, ``"busy"`` when a lock
    wait ran out, or a deadlock or serialization failure ended the transaction; ``None`` for
    anything else (a fault, not the caller's)."""
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None)
    text = str(orig)
    if state == UNIQUE_VIOLATION or "UNIQUE constraint failed" in text:
        return "unique"
    if state in BUSY_SQLSTATES or "database is locked" in text:
        return "busy"
    return None
