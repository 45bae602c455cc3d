"""Lookups remembered for the length of one batch of work in one session.

A batch of a thousand consent acts asks a thousand times for the same purposes, policy,
signing key, PI categories and webhook endpoints. Inside :func:`batch_lookups` each answer is
fetched once; outside it :func:`remembered` simply computes, so single requests always read
fresh data. Nothing that a batch itself changes may be remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from consent_service.extensions import db

T = TypeVar("T")
_KEY = "batch_lookups"


@contextmanager
def batch_lookups() -> Iterator[None]:
    """Remember lookups in the current session until the block ends."""
    db.session.info[_KEY] = {}
    try:
        yield
    finally:
        db.session.info.pop(_KEY, None)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per batch for ``key``; every time outside a batch."""
    store = db.session.info.get(_KEY)
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]
