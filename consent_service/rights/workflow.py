"""The lifecycle of a rights request, in one table (house style 7).

Every action a request can undergo names the statuses it may start from and the status it
leads to (``None``: it stays where it is). Views, the API and jobs ask this table; none of them
checks a status on its own. An action not allowed is :class:`TransitionNotAllowed` (409), which
names the actions that are.
"""

from __future__ import annotations

from consent_service.errors import Conflict

STATUSES = (
    "received",
    "verifying_identity",
    "in_progress",
    "awaiting_requester",
    "awaiting_systems",
    "completed",
    "refused",
    "withdrawn_by_requester",
    "expired_unverified",
)
#: Statuses of a request still to be answered.
OPEN = ("received", "verifying_identity", "in_progress", "awaiting_requester", "awaiting_systems")
CLOSED = tuple(s for s in STATUSES if s not in OPEN)
_WORKING = ("in_progress", "awaiting_requester", "awaiting_systems")

#: action: (the statuses it may start from, the status it leads to or None to stay).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "send_code": (("received", "verifying_identity"), "verifying_identity"),
    "verify": (("received", "verifying_identity"), "in_progress"),
    "pause": (("in_progress", "awaiting_systems"), "awaiting_requester"),
    "resume": (("awaiting_requester",), "in_progress"),
    "await_systems": (("in_progress",), "awaiting_systems"),
    "systems_done": (("awaiting_systems",), "in_progress"),
    "task_answered": (_WORKING, None),
    "no_systems": (("in_progress",), None),
    "withdraw_consents": (("in_progress",), None),
    "correct_here": (("in_progress",), None),
    "erase_here": (("in_progress",), None),
    "package": (("in_progress",), None),
    "extend": (_WORKING, None),
    "assign": (OPEN, None),
    "complete": (("in_progress", "awaiting_systems"), "completed"),
    "refuse": (OPEN, "refused"),
    "withdraw": (OPEN, "withdrawn_by_requester"),
    "expire_unverified": (("received", "verifying_identity"), "expired_unverified"),
}


class TransitionNotAllowed(Conflict):
    """The action is not allowed in the request's status; ``allowed`` lists those that are."""

    code = "transition_not_allowed"

    def __init__(self, action: str, status: str) -> None:
        """Name the action, the status, and what may be done instead."""
        allowed = allowed_actions(status)
        super().__init__(
            f"a request that is {status} cannot {action.replace('_', ' ')}; "
            f"allowed: {', '.join(allowed) or 'nothing (it is closed)'}",
            {"status": status, "action": action, "allowed": allowed},
        )
        self.allowed = allowed

    def problem_members(self):
        """The status and the allowed actions beside the message."""
        return {"request_status": self.details["status"], "allowed": self.allowed}


def allowed_actions(status: str) -> list[str]:
    """The actions a request in ``status`` may undergo, in the table's order."""
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def next_status(action: str, status: str) -> str:
    """The status ``action`` leads to from ``status``; :class:`TransitionNotAllowed` otherwise."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise TransitionNotAllowed(action, status)
    return status if target is None else target


def is_open(status: str) -> bool:
    """Whether a request in ``status`` still has to be answered."""
    return status in OPEN
