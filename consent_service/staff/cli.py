"""``flask staff``: the staff accounts of the console."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from consent_service.clock import utcnow
from consent_service.commands import command_transaction
from consent_service.organizations.service import get_organization
from consent_service.staff import accounts
from consent_service.staff.roles import ROLES

staff = AppGroup("staff", help="Staff accounts of the officer's console.")


@staff.command("create")
@click.option("--org", "slug", required=True, help="The organization's slug.")
@click.option("--email", required=True, help="The member's email address.")
@click.option("--role", "role_code", required=True, type=click.Choice(sorted(ROLES)))
@click.option("--name", default="", help="The member's name (defaults to the address's local part).")
@command_transaction
def create(slug: str, email: str, role_code: str, name: str) -> None:
    """Invite a member of staff and print their one-time enrolment link (shown only now)."""
    org = get_organization(slug)
    member, url = accounts.invite(org, email, name, role_code, utcnow())
    hours = current_app.config["STAFF_ENROL_HOURS"]
    click.echo(f"Invited {member.email} as {member.role} of {org.slug}.")
    click.echo(f"Enrolment link (works once, for {hours} hours): {url}")
