"""Unbound Flask extensions, bound to an application by :func:`consent_service.create_app`."""

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from consent_service.scheduling import JobScheduler

# Constraint names are fixed so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate(compare_type=True, render_as_batch=True)
#: The OAuth 2.0 authorization server (configured in :mod:`consent_service.oauth.server`).
authorization = AuthorizationServer()
#: Limits count per address unless a limit names its own key (the API counts per client).
limiter = Limiter(key_func=get_remote_address)
#: The jobs every package declares (``<package>/jobs.py``), run by ``flask scheduler run``.
scheduler = JobScheduler()
#: CSRF protection for every HTML form; the token-authenticated API and OAuth are exempt.
csrf = CSRFProtect()
#: Locale (zh-CN or en) and time zone of pages, mail and records.
babel = Babel()
