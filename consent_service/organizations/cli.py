"""``flask orgs``: organizations (personal-information handlers)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from consent_service.clock import utcnow
from consent_service.commands import command_transaction, echo_json
from consent_service.organizations import service

orgs = AppGroup("orgs", help="Organizations (personal-information handlers).")


@orgs.command("create")
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
@command_transaction
def create(slug: str, **options) -> None:
    """Create the organization SLUG."""
    service.load_catalogue()
    org = service.create_organization(slug, utcnow(), **options)
    echo_json({"slug": org.slug, "name_en": org.name_en, "name_zh": org.name_zh, "timezone": org.timezone})


@orgs.command("list")
def list_() -> None:
    """List organizations."""
    for org in service.list_organizations():
        click.echo(f"{org.slug}\t{org.name_en}\t{org.name_zh}")
