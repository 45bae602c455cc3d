"""The one place that commits (house style 5).

Service functions write and flush; they never commit. Whoever starts the work (an API call,
an HTML form post, a CLI command, a scheduler job) runs it inside :func:`unit_of_work`, which
commits once when the block ends and rolls everything back when it raises. Side effects that
leave the process (webhooks, mail) are outbox rows written in the same transaction, so they are
sent if, and only if, the change they announce is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from consent_service.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block wrote; roll it all back if the block raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` (a view, a command, a job step) as one unit of work."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return fn(*args, **kwargs)

    return wrapper
