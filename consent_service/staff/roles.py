"""The staff roles and their permissions, as data (PIPL 51: internal management, access
control by role; GB/T 35273 11.7: who did what is recorded).

Every console route names the one permission it needs; a role holds a fixed set of them, so
"may an auditor export records?" is answered here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every permission a console route can need, with what it allows.
PERMISSIONS = {
    "requests:read": "See rights requests, their timelines and tasks",
    "requests:work": "Work rights requests: verify, assign, pause, extend, complete, refuse",
    "subjects:read": "Find a person and see their consents, history and requests",
    "purposes:manage": "Draft and publish purposes and privacy policies",
    "systems:manage": "Register the data systems that hold personal information",
    "clients:manage": "Create, rotate and revoke API clients; manage webhooks",
    "staff:manage": "Invite staff, change roles, lock and unlock accounts",
    "records:export": "Export records (PDF, CSV) and reports",
    "audit:read": "Read the audit trail and the ledger's verification",
}


@dataclass(frozen=True)
class Role:
    """A staff role: its names and the permissions it holds."""

    code: str
    name_zh: str
    name_en: str
    permissions: frozenset[str]
    #: Sign-in needs a second factor (TOTP) for this role.
    requires_second_factor: bool = False

    def can(self, permission: str) -> bool:
        """Whether this role holds ``permission`` (unknown permissions are refused)."""
        if permission not in PERMISSIONS:
            raise KeyError(f"no permission {permission!r}")
        return permission in self.permissions


_READ = frozenset({"requests:read", "subjects:read", "records:export", "audit:read"})

ROLES = {
    role.code: role
    for role in (
        Role(
            "admin",
            "管理员",
            "Administrator",
            frozenset(PERMISSIONS),
            requires_second_factor=True,
        ),
        Role("officer", "个人信息保护专员", "Compliance officer", _READ | {"requests:work"}),
        Role("auditor", "审计员", "Auditor", _READ),
    )
}


def role(code: str) -> Role:
    """The role ``code``; ``KeyError`` names an unknown one."""
    if code not in ROLES:
        raise KeyError(f"no role {code!r}; one of {', '.join(ROLES)}")
    return ROLES[code]
