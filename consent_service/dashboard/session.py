"""The person's dashboard session: who is signed in, since when, and its end.

The session is Flask's signed cookie (``SESSION_COOKIE_*`` in ``config.py``: HttpOnly,
SameSite=Lax, Secure outside development and testing). It is started afresh at sign-in (whatever
the old one held is dropped), ends after ``DASHBOARD_IDLE_MINUTES`` without a visit (measured
with the application's clock) and on sign-out. Every dashboard view module uses these.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, g, session

from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.organizations.models import Organization

#: Session keys: the person signed in, and when they last opened a page (ISO 8601, UTC).
SUBJECT_KEY = "subject_id"
SEEN_KEY = "seen_at"


def sign_in(subject_id: int, now: datetime) -> None:
    """Start a new session for the person: whatever the old one held (another person, a CSRF
    token) is dropped, so a session planted before sign-in is never the signed-in one."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's token of the old session, if this context made one
    session.permanent = True  # the cookie expires too (PERMANENT_SESSION_LIFETIME)
    session[SUBJECT_KEY] = subject_id
    session[SEEN_KEY] = now.isoformat()


def signed_in_subject_id(now: datetime) -> int | None:
    """The signed-in person's id, the visit noted; ``None`` if nobody is signed in or the
    session was idle longer than ``DASHBOARD_IDLE_MINUTES`` (then it is ended)."""
    subject_id = session.get(SUBJECT_KEY)
    if subject_id is None:
        return None
    idle = timedelta(minutes=current_app.config["DASHBOARD_IDLE_MINUTES"])
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, str) or now - datetime.fromisoformat(seen) > idle:
        session.clear()
        return None
    session[SEEN_KEY] = now.isoformat()
    return subject_id


def current_person(now: datetime) -> tuple[Organization, Subject]:
    """The signed-in person and their organization; a 401 page when nobody is signed in, the
    session went idle, or the person was erased (their session ends with their information)."""
    subject_id = signed_in_subject_id(now)
    if subject_id is None:
        abort(401)  # nobody signed in: a sign-in under way (a pending code) is kept
    subject = db.session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None:
        session.clear()
        abort(401)
    return db.session.get(Organization, subject.org_id), subject


def sign_out() -> None:
    """End the session."""
    session.clear()
