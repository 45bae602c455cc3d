"""Unbound Flask extensions, bound to an application by :func:`consent_service.create_app`."""

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Constraint names are fixed so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _rate_limit_key() -> str:
    """Rate limits count per API client; unauthenticated calls per address."""
    from consent_service.api.limits import rate_limit_key

    return rate_limit_key()


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate(compare_type=True, render_as_batch=True)
authorization = AuthorizationServer()
limiter = Limiter(key_func=_rate_limit_key)
