"""``flask clients``: OAuth 2.0 API clients."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from consent_service.clock import utcnow
from consent_service.commands import command_transaction, domain_failure
from consent_service.errors import DomainError
from consent_service.oauth import service
from consent_service.organizations.service import get_organization

clients = AppGroup("clients", help="OAuth 2.0 API clients.")


@clients.command("create")
@click.option("--org", "slug", required=True, help="The organization the client acts for.")
@click.option("--name", required=True, help="What the client is, e.g. 'shop backend'.")
@click.option("--scopes", required=True, help='Space-separated scopes, e.g. "consents:read consents:write".')
@command_transaction
def create(slug: str, name: str, scopes: str) -> None:
    """Create an API client; prints its id and secret once (the secret is stored hashed)."""
    issued = service.create_client(get_organization(slug), name, scopes, utcnow())
    click.echo(json.dumps({"client_id": issued.client.client_id, "client_secret": issued.client_secret}))


@clients.command("rotate-secret")
@click.argument("client_id")
@command_transaction
def rotate_secret(client_id: str) -> None:
    """Give CLIENT_ID a new secret (printed once); the old one stops working at once."""
    issued = service.rotate_secret(client_id, utcnow())
    click.echo(json.dumps({"client_id": issued.client.client_id, "client_secret": issued.client_secret}))


@clients.command("revoke")
@click.argument("client_id")
@command_transaction
def revoke(client_id: str) -> None:
    """Disable CLIENT_ID and every token it holds, from the next call on."""
    client = service.revoke_client(client_id, utcnow())
    click.echo(f"revoked {client.client_id}")


@clients.command("list")
@click.option("--org", "slug", help="Only this organization's clients.")
def list_(slug: str | None) -> None:
    """List clients: id, organization, name, scopes, state."""
    try:
        org = get_organization(slug) if slug else None
    except DomainError as exc:
        raise domain_failure(exc) from exc
    for client in service.list_clients(org):
        state = "revoked" if client.revoked_at else "active"
        click.echo(f"{client.client_id}\t{client.organization.slug}\t{client.name}\t{state}\t{client.scope}")
