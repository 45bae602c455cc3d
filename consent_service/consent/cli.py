"""``flask consents``: ledger maintenance (importing a history from another platform)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup

from consent_service.clock import utcnow
from consent_service.commands import command_transaction
from consent_service.consent.bulk import import_acts, read_rows
from consent_service.organizations.service import get_organization

consents = AppGroup("consents", help="Consent ledger maintenance.")


@consents.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="The organization the acts belong to.")
@click.option("--chunk-size", default=10000, show_default=True, help="Rows written per batch.")
@command_transaction
def import_(file: Path, slug: str, chunk_size: int) -> None:
    """Import consent acts from FILE (.csv or .jsonl), e.g. when moving from another platform.

    Columns: subject, purpose, action (grant|withdraw|refuse), consent_type, occurred_at
    (ISO 8601 with zone), and optionally method (how consent was collected on the source
    platform: kept as evidence, the event's method is "import"), actor_kind, actor_name,
    actor_relationship, actor_reason, policy_version, ip, user_agent, locale, notice_sha256,
    document_ref.
    One transaction: any invalid row stops the import with its line number, nothing written.
    """
    started = time.perf_counter()
    report = import_acts(get_organization(slug), read_rows(file), utcnow(), chunk_size=chunk_size)
    report.seconds = time.perf_counter() - started
    rate = report.rows / report.seconds if report.seconds else 0
    click.echo(
        f"imported {report.rows} rows: {report.events} events, {report.skipped} withdrawals of nothing "
        f"skipped, {report.subjects_created} new subjects, {report.seconds:.2f} s ({rate:,.0f} rows/s)"
    )
