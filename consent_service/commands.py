"""What every ``flask`` command shares (each package's ``cli`` module declares its own).

A command that writes runs as one unit of work (:func:`command_transaction`): it commits once
at the end, with its entry in the audit trail; a domain error rolls back and ends the command
with its message and exit status 1, never a traceback.

:class:`AuditRecorder` is how the API and the commands, below the audit package, append to the
audit trail: ``create_app`` provides :func:`consent_service.audit.trail.record_now`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, Protocol, TypeVar

import click

from consent_service.changes import collecting
from consent_service.errors import DomainError
from consent_service.services import lookup
from consent_service.unit_of_work import unit_of_work

P = ParamSpec("P")
R = TypeVar("R")


class AuditRecorder(Protocol):
    """Append one entry to an organization's audit trail (``None``: the service's own) in the
    current unit of work: identifiers and codes only, never personal data (PIPL 51, 54)."""

    def __call__(
        self,
        org_id: int | None,
        actor_kind: str,
        actor: str,
        action: str,
        target: str | None = None,
        outcome: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None: ...


def command_transaction(fn: Callable[P, R]) -> Callable[P, R]:
    """Run the command as one unit of work, recorded in the service's audit trail (the
    command's name; its options' values are not kept, they may be personal data); report a
    domain error as a clean failure."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with unit_of_work(), collecting() as changes:
                result = fn(*args, **kwargs)
                name = _command_name()
                target = f"organization:{kwargs['slug']}" if isinstance(kwargs.get("slug"), str) else None
                lookup(AuditRecorder)(
                    None, "command", name, f"command:{name}", target, "ok", changes.details() or None
                )
                return result
        except DomainError as exc:
            raise domain_failure(exc) from exc

    return wrapper


def _command_name() -> str:
    """The running command without the program's name (``orgs create``)."""
    context = click.get_current_context(silent=True)
    if context is None:
        return "unknown"
    return context.command_path.partition(" ")[2] or context.command_path


def domain_failure(exc: DomainError) -> click.ClickException:
    """The clean failure a domain error ends a command with (its message and details)."""
    detail = f"\n{json.dumps(exc.details, ensure_ascii=False, indent=2)}" if exc.details else ""
    return click.ClickException(f"{exc.message}{detail}")


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON, Chinese kept readable."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
