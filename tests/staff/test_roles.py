"""Staff roles: what each may do, answered in one table."""

from __future__ import annotations

import pytest

from consent_service.staff.roles import PERMISSIONS, ROLES, role


def test_an_admin_holds_every_permission_and_needs_a_second_factor():
    admin = role("admin")
    assert all(admin.can(p) for p in PERMISSIONS)
    assert admin.requires_second_factor


def test_an_officer_works_requests_but_manages_nothing():
    officer = role("officer")
    assert officer.can("requests:work") and officer.can("requests:read") and officer.can("records:export")
    for permission in ("purposes:manage", "systems:manage", "clients:manage", "staff:manage"):
        assert not officer.can(permission), permission


def test_an_auditor_only_reads():
    auditor = role("auditor")
    assert {p for p in PERMISSIONS if auditor.can(p)} == {
        "requests:read",
        "subjects:read",
        "records:export",
        "audit:read",
    }


def test_unknown_roles_and_permissions_are_refused():
    with pytest.raises(KeyError, match="no role"):
        role("owner")
    with pytest.raises(KeyError, match="no permission"):
        ROLES["admin"].can("everything")
