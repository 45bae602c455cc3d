"""What every ``flask`` command shares (each package's ``cli`` module declares its own).

A command that writes runs as one unit of work (:func:`command_transaction`): it commits once
at the end; a domain error rolls back and ends the command with its message and exit status 1,
never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click

from consent_service.errors import DomainError
from consent_service.unit_of_work import unit_of_work

P = ParamSpec("P")
R = TypeVar("R")


def command_transaction(fn: Callable[P, R]) -> Callable[P, R]:
    """Run the command as one unit of work; report a domain error as a clean failure."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with unit_of_work():
                return fn(*args, **kwargs)
        except DomainError as exc:
            raise domain_failure(exc) from exc

    return wrapper


def domain_failure(exc: DomainError) -> click.ClickException:
    """The clean failure a domain error ends a command with (its message and details)."""
    detail = f"\n{json.dumps(exc.details, ensure_ascii=False, indent=2)}" if exc.details else ""
    return click.ClickException(f"{exc.message}{detail}")


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON, Chinese kept readable."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
