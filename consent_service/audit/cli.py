"""``flask audit``: verify the ledger, write checkpoints now, export the newest heads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from consent_service.audit.heads import ExportedHead, export_heads, load_heads
from consent_service.audit.jobs import checkpoint_all
from consent_service.audit.verify import verify_organization, verify_service_trail
from consent_service.clock import utcnow
from consent_service.commands import domain_failure
from consent_service.database import snapshot_transaction
from consent_service.errors import DomainError
from consent_service.extensions import db
from consent_service.organizations.service import list_organizations

audit = AppGroup("audit", help="Tamper evidence: checkpoints and verification.")

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _read_json(path: Path, what: str) -> Any:
    """The JSON document in ``path``; a clean failure when it is not one."""
    try:
        return json.loads(path.read_text("utf-8"))
    except ValueError as exc:  # not UTF-8, or not JSON
        raise click.ClickException(f"{path} is not {what} (JSON): {exc}") from exc


def _read_heads(path: Path, slug: str | None) -> dict[str, ExportedHead]:
    """The exported heads in ``path`` (only ``slug``'s, if given)."""
    try:
        heads = load_heads(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path} is not an exported head: not UTF-8 text") from exc
    except DomainError as exc:
        raise click.ClickException(f"{path} is not an exported head: {exc.message}") from exc
    if slug is None:
        return heads
    if slug not in heads:
        raise click.ClickException(f"{path} has no head of organization {slug!r}")
    return {slug: heads[slug]}


@audit.command("verify")
@click.option("--org", "slug", help="Only this organization.")
@click.option(
    "--jwks",
    "jwks_file",
    type=_FILE,
    help="A JWK Set kept outside the database (e.g. a saved /.well-known/jwks.json): its keys count "
    "beside the keys the service proves its own.",
)
@click.option(
    "--head",
    "head_file",
    type=_FILE,
    help="A file written by `flask audit export-head`: the ledger must still extend each head in it.",
)
def verify(slug: str | None, jwks_file: Path | None, head_file: Path | None) -> None:
    """Check every hash chain, state row, receipt, checkpoint and audit trail; exit 1 on any problem."""
    pinned = _read_json(jwks_file, "a JWK Set") if jwks_file else None
    heads = _read_heads(head_file, slug) if head_file else {}
    snapshot_transaction(db.session)  # one consistent view while writers go on
    organizations = list_organizations(slug)
    if slug and not organizations:
        raise click.ClickException(f"no organization {slug!r}")
    now = utcnow()
    failed = False
    for org in organizations:
        try:
            report = verify_organization(org, pinned_keys=pinned, head=heads.pop(org.slug, None), now=now)
        except DomainError as exc:  # a pinned key set that is not one
            raise domain_failure(exc) from exc
        status = "OK" if report.ok else "BROKEN"
        anchored = f", extends exported head #{report.anchored_at}" if report.anchored_at else ""
        click.echo(
            f"{org.slug}: {status} — {report.subjects} chains, {report.events} events, "
            f"{report.checkpoints} checkpoints, {report.receipts} receipts{anchored}, "
            f"{report.trail_entries} trail entries"
        )
        for problem in report.problems:
            click.echo(f"  {problem}")
        failed = failed or not report.ok
    if slug is None:
        service = verify_service_trail()
        click.echo(f"service trail: {'OK' if service.ok else 'BROKEN'} — {service.trail_entries} entries")
        for problem in service.problems:
            click.echo(f"  {problem}")
        failed = failed or not service.ok
    for missing in sorted(heads):
        click.echo(f"{missing}: BROKEN — the organization of an exported head is gone")
        failed = True
    if failed:
        sys.exit(1)


@audit.command("checkpoint")
@click.option("--org", "slug", help="Only this organization.")
def checkpoint(slug: str | None) -> None:
    """Write a signed checkpoint of every chain head now."""
    for org, seq in checkpoint_all(slug).items():
        click.echo(f"{org}: " + (f"checkpoint #{seq}" if seq else "unchanged since the last checkpoint"))


@audit.command("export-head")
@click.option("--org", "slug", help="Only this organization.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (by default, standard output).",
)
def export_head(slug: str | None, output: Path | None) -> None:
    """Write the newest signed checkpoint of each organization, to keep outside the database.

    Keep the file elsewhere (another machine, a mail to the PI protection officer, a
    timestamping service); `flask audit verify --head FILE` later proves the ledger extends it.
    """
    snapshot_transaction(db.session)
    organizations = list_organizations(slug)
    if slug and not organizations:
        raise click.ClickException(f"no organization {slug!r}")
    try:
        document, without = export_heads(organizations, utcnow())
    except DomainError as exc:
        raise domain_failure(exc) from exc
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")
        for head in document["heads"]:
            click.echo(f"{head['org']}: checkpoint #{head['seq']} ({head['hash']}) written to {output}")
    for missing in without:
        click.echo(f"{missing}: no checkpoint yet, nothing to export", err=True)
