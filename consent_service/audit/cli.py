"""``flask audit``: verify the ledger and write checkpoints now."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from consent_service.audit.jobs import checkpoint_all
from consent_service.audit.verify import verify_organization
from consent_service.database import snapshot_transaction
from consent_service.extensions import db
from consent_service.organizations.service import list_organizations

audit = AppGroup("audit", help="Tamper evidence: checkpoints and verification.")


@audit.command("verify")
@click.option("--org", "slug", help="Only this organization.")
def verify(slug: str | None) -> None:
    """Check every hash chain, state row and checkpoint; exit 1 at the first broken link."""
    snapshot_transaction(db.session)  # one consistent view while writers go on
    organizations = list_organizations(slug)
    if slug and not organizations:
        raise click.ClickException(f"no organization {slug!r}")
    failed = False
    for org in organizations:
        report = verify_organization(org)
        status = "OK" if report.ok else "BROKEN"
        click.echo(
            f"{org.slug}: {status} — {report.subjects} chains, {report.events} events, "
            f"{report.checkpoints} checkpoints"
        )
        for problem in report.problems:
            click.echo(f"  {problem}")
        failed = failed or not report.ok
    if failed:
        sys.exit(1)


@audit.command("checkpoint")
@click.option("--org", "slug", help="Only this organization.")
def checkpoint(slug: str | None) -> None:
    """Write a signed checkpoint of every chain head now."""
    for org, seq in checkpoint_all(slug).items():
        click.echo(f"{org}: " + (f"checkpoint #{seq}" if seq else "unchanged since the last checkpoint"))
