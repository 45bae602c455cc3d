"""Command-line interface: ``flask orgs``, ``demo``, ``audit``, ``receipts``, ``scheduler``.

Each command owns its transaction: it calls services, then commits once; a domain error
rolls back and ends the command with its message and exit status 1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from functools import wraps
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from consent_service.clock import utcnow
from consent_service.errors import DomainError
from consent_service.extensions import db

orgs_cli = AppGroup("orgs", help="Organizations (personal-information handlers).")
demo_cli = AppGroup("demo", help="The demo organization.")
audit_cli = AppGroup("audit", help="Ledger tamper evidence: checkpoints and verification.")
receipts_cli = AppGroup("receipts", help="Consent receipts and their signing keys.")
scheduler_cli = AppGroup("scheduler", help="Scheduled jobs (checkpoints, consent expiry, webhooks).")
clients_cli = AppGroup("clients", help="OAuth 2.0 API clients.")
consents_cli = AppGroup("consents", help="Consent ledger maintenance.")


def transactional(fn):
    """Commit after the command, roll back and report a domain error as a clean failure."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except DomainError as exc:
            db.session.rollback()
            detail = f"\n{json.dumps(exc.details, ensure_ascii=False, indent=2)}" if exc.details else ""
            raise click.ClickException(f"{exc.message}{detail}") from exc
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


def _echo_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@orgs_cli.command("create")
@click.argument("slug")
@click.option("--name", "name_en", required=True, help="Name in English.")
@click.option("--name-zh", help="Name in Chinese (defaults to --name).")
@click.option("--contact-email")
@click.option("--contact-phone")
@click.option("--address")
@click.option("--pipo-name", help="PI protection officer's name (PIPL 52).")
@click.option("--pipo-contact", help="PI protection officer's contact (PIPL 52).")
@click.option("--timezone", default="Asia/Shanghai", show_default=True)
@click.option(
    "--regime", "default_regime", default="PIPL", type=click.Choice(["PIPL", "GDPR"]), show_default=True
)
@transactional
def orgs_create(slug: str, **options) -> None:
    """Create the organization SLUG."""
    from consent_service.policies import organizations

    organizations.load_catalogue()
    org = organizations.create_organization(slug, utcnow(), **options)
    _echo_json({"slug": org.slug, "name_en": org.name_en, "name_zh": org.name_zh, "timezone": org.timezone})


@orgs_cli.command("list")
def orgs_list() -> None:
    """List organizations."""
    from consent_service.policies.models import Organization

    for org in db.session.scalars(select(Organization).order_by(Organization.slug)):
        click.echo(f"{org.slug}\t{org.name_en}\t{org.name_zh}")


@demo_cli.command("seed")
@transactional
def demo_seed() -> None:
    """Create the demo organization with purposes, a published policy and people (idempotent)."""
    from consent_service import demo

    created = demo.seed(utcnow())
    _echo_json(created)


@audit_cli.command("verify")
@click.option("--org", "slug", help="Only this organization.")
def audit_verify(slug: str | None) -> None:
    """Check every hash chain, state row and checkpoint; exit 1 at the first broken link."""
    from consent_service.consent.ledger import verify_organization
    from consent_service.database import snapshot_transaction
    from consent_service.policies.models import Organization

    snapshot_transaction(db.session)  # one consistent view while writers go on
    query = select(Organization).order_by(Organization.slug)
    if slug:
        query = query.where(Organization.slug == slug)
    organizations = list(db.session.scalars(query))
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


@audit_cli.command("checkpoint")
@click.option("--org", "slug", help="Only this organization.")
def audit_checkpoint(slug: str | None) -> None:
    """Write a signed checkpoint of every chain head now."""
    from consent_service.consent.jobs import checkpoint_all

    for org, seq in checkpoint_all(current_app._get_current_object(), slug).items():
        click.echo(f"{org}: " + (f"checkpoint #{seq}" if seq else "unchanged since the last checkpoint"))


@receipts_cli.command("verify")
@click.argument("file", type=click.File("r"))
@click.option(
    "--jwks",
    "jwks_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A saved /.well-known/jwks.json; by default the keys in this service's database.",
)
def receipts_verify(file, jwks_file: str | None) -> None:
    """Verify the receipt in FILE (a compact JWS; - for standard input)."""
    from consent_service.receipts import keys, service

    try:
        key_set = json.loads(Path(jwks_file).read_text("utf-8")) if jwks_file else keys.jwks()
    except ValueError as exc:  # not UTF-8 or not JSON
        raise click.ClickException(f"{jwks_file} is not a JWK Set (JSON): {exc}") from exc
    try:
        token = file.read().strip()
    except UnicodeDecodeError as exc:
        raise click.ClickException("signature does not verify: the file is not a compact JWS") from exc
    try:
        claims = service.verify_receipt(token, key_set)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    purpose = claims["services"][0]["purposes"][0]
    click.echo("valid receipt: signature verified, Kantara CR v1.1 schema satisfied")
    _echo_json(
        {
            "receipt": claims["consentReceiptID"],
            "subject": claims["piiPrincipalId"],
            "controller": claims["piiControllers"][0]["piiController"],
            "purpose": claims.get("pipl", {}).get("purposeCode") or purpose["purpose"],
            "consent_type": claims.get("pipl", {}).get("consentType") or purpose["consentType"],
            "consented_at": claims["consentTimestamp"],
            "policy": claims["policyUrl"],
        }
    )


@receipts_cli.command("rotate-key")
@transactional
def receipts_rotate_key() -> None:
    """Make a new signing key; earlier keys stay published so old receipts still verify."""
    from consent_service.receipts import keys

    row = keys.create_key(utcnow())
    click.echo(f"new signing key {row.kid} ({row.alg})")


@receipts_cli.command("jwks")
def receipts_jwks() -> None:
    """Print the public JWK Set (to save for offline verification)."""
    from consent_service.receipts import keys

    _echo_json(keys.jwks())


@scheduler_cli.command("run")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
def scheduler_run(once: bool) -> None:
    """Run the scheduler in the foreground (several processes may run at once)."""
    from consent_service.scheduler import build_scheduler, run_all_once

    app = current_app._get_current_object()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        _echo_json(run_all_once(app))
        return
    scheduler = build_scheduler(app)
    click.echo("scheduler running; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


@clients_cli.command("create")
@click.option("--org", "slug", required=True, help="The organization the client acts for.")
@click.option("--name", required=True, help="What the client is, e.g. 'shop backend'.")
@click.option("--scopes", required=True, help='Space-separated scopes, e.g. "consents:read consents:write".')
@transactional
def clients_create(slug: str, name: str, scopes: str) -> None:
    """Create an API client; prints its id and secret once (the secret is stored hashed)."""
    from consent_service.oauth import service
    from consent_service.policies.organizations import get_organization

    issued = service.create_client(get_organization(slug), name, scopes, utcnow())
    click.echo(json.dumps({"client_id": issued.client.client_id, "client_secret": issued.client_secret}))


@clients_cli.command("rotate-secret")
@click.argument("client_id")
@transactional
def clients_rotate_secret(client_id: str) -> None:
    """Give CLIENT_ID a new secret (printed once); the old one stops working at once."""
    from consent_service.oauth import service

    issued = service.rotate_secret(client_id, utcnow())
    click.echo(json.dumps({"client_id": issued.client.client_id, "client_secret": issued.client_secret}))


@clients_cli.command("revoke")
@click.argument("client_id")
@transactional
def clients_revoke(client_id: str) -> None:
    """Disable CLIENT_ID and every token it holds, from the next call on."""
    from consent_service.oauth import service

    client = service.revoke_client(client_id, utcnow())
    click.echo(f"revoked {client.client_id}")


@clients_cli.command("list")
@click.option("--org", "slug", help="Only this organization's clients.")
def clients_list(slug: str | None) -> None:
    """List clients: id, organization, name, scopes, state."""
    from consent_service.oauth import service
    from consent_service.policies.organizations import get_organization

    try:
        org = get_organization(slug) if slug else None
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    for client in service.list_clients(org):
        state = "revoked" if client.revoked_at else "active"
        click.echo(f"{client.client_id}\t{client.organization.slug}\t{client.name}\t{state}\t{client.scope}")


@consents_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="The organization the acts belong to.")
@click.option("--chunk-size", default=10000, show_default=True, help="Rows written per batch.")
@transactional
def consents_import(file: Path, slug: str, chunk_size: int) -> None:
    """Import consent acts from FILE (.csv or .jsonl), e.g. when moving from another platform.

    Columns: subject, purpose, action (grant|withdraw|refuse), consent_type, occurred_at
    (ISO 8601 with zone), and optionally method, actor_kind, actor_name, actor_relationship,
    actor_reason, policy_version, ip, user_agent, locale, notice_sha256, document_ref.
    One transaction: any invalid row stops the import with its line number, nothing written.
    """
    import time

    from consent_service.consent.bulk import import_acts, read_rows
    from consent_service.policies.organizations import get_organization

    started = time.perf_counter()
    report = import_acts(get_organization(slug), read_rows(file), utcnow(), chunk_size=chunk_size)
    report.seconds = time.perf_counter() - started
    rate = report.rows / report.seconds if report.seconds else 0
    click.echo(
        f"imported {report.rows} rows: {report.events} events, {report.skipped} withdrawals of nothing "
        f"skipped, {report.subjects_created} new subjects, {report.seconds:.2f} s ({rate:,.0f} rows/s)"
    )


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    for group in (orgs_cli, demo_cli, audit_cli, receipts_cli, scheduler_cli, clients_cli, consents_cli):
        app.cli.add_command(group)
