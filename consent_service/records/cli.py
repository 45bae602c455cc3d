"""``flask records verify``: check a record's PDF offline."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from consent_service.receipts import keys
from consent_service.records.verify import verify_record

records = AppGroup("records", help="Compliance records (PDF) and their verification.")


def _key_set(source: str | None) -> dict:
    """The JWK Set named by ``--jwks``: a URL (fetched) or a saved file; by default this
    service's own published keys."""
    if source is None:
        return keys.jwks()
    try:
        if source.startswith(("https://", "http://")):
            import requests  # only when a URL is named: verifying a file needs no network

            response = requests.get(source, timeout=10)
            response.raise_for_status()
            return response.json()
        return json.loads(Path(source).read_text("utf-8"))
    except OSError as exc:
        raise click.ClickException(f"cannot read the key set {source}: {exc}") from exc
    except ValueError as exc:  # not UTF-8 or not JSON (requests' JSON error is one too)
        raise click.ClickException(f"{source} is not a JWK Set (JSON): {exc}") from exc


@records.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--jwks", "jwks", help="A JWK Set: its URL or a saved file; by default this service's keys.")
def verify(file: str, jwks: str | None) -> None:
    """Verify the record in FILE (a PDF): its attachments and the signature over them."""
    result = verify_record(Path(file), _key_set(jwks))
    if not result.ok:
        raise click.ClickException(result.summary())
    click.echo(result.summary())
