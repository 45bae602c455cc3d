"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import ValidationError
from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

#: Primary keys of tables that grow without bound: BIGINT, but SQLite's INTEGER (its rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    Values are stored as naive UTC (SQLite has no time zones) and always come back aware,
    so hashes and comparisons do not depend on the database.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utc_representable(value: datetime) -> None:
    """Marshmallow validator for input datetimes: the value must have a UTC equivalent that
    :class:`UTCDateTime` can store (0001-01-01T00:00+23:59 and 9999-12-31T23:59-23:59 have none)."""
    try:
        value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationError("is out of range once converted to UTC") from exc
