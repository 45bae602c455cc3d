"""Small interfaces looked up by what they are, provided once per application.

A package that needs something it must not import (a lower layer asking a higher one, or any
code asking for an outside system) names an interface, a :class:`typing.Protocol`, and asks
for it with :func:`lookup`. ``create_app`` provides each implementation with :func:`provide`:
the one configuration chooses (SMTP or a file outbox for mail, the real holiday calendar or a
fixed one in tests), or the higher package's function (the ledger counts the consents a policy
change affects). Nothing is looked up at import time.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, current_app

T = TypeVar("T")
_KEY = "consent_service.services"


def provide(app: Flask, interface: type[T], implementation: T) -> None:
    """Make ``implementation`` what ``app`` answers for ``interface``."""
    app.extensions.setdefault(_KEY, {})[interface] = implementation


def lookup(interface: type[T]) -> T:
    """What the current application provides for ``interface``."""
    provided: dict[type, Any] = current_app.extensions.get(_KEY, {})
    if interface not in provided:
        raise LookupError(f"nothing provides {interface.__name__} to this application")
    return provided[interface]
