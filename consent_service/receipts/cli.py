"""``flask receipts``: verify a receipt offline, rotate the signing key, print the JWK Set."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from consent_service.clock import utcnow
from consent_service.commands import command_transaction, echo_json
from consent_service.errors import DomainError
from consent_service.receipts import keys, service

receipts = AppGroup("receipts", help="Consent receipts and their signing keys.")


@receipts.command("verify")
@click.argument("file", type=click.File("r"))
@click.option(
    "--jwks",
    "jwks_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A saved /.well-known/jwks.json; by default the keys in this service's database.",
)
def verify(file, jwks_file: str | None) -> None:
    """Verify the receipt in FILE (a compact JWS; - for standard input)."""
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
    echo_json(
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


@receipts.command("rotate-key")
@command_transaction
def rotate_key() -> None:
    """Make a new signing key; earlier keys stay published so old receipts still verify."""
    row = keys.create_key(utcnow())
    click.echo(f"new signing key {row.kid} ({row.alg})")


@receipts.command("jwks")
def jwks() -> None:
    """Print the public JWK Set (to save for offline verification)."""
    echo_json(keys.jwks())
