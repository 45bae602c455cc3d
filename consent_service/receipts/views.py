"""Public key publication (RFC 7517) so anyone can verify a receipt alone."""

from flask import Blueprint, jsonify

from consent_service.receipts import keys

bp = Blueprint("receipts", __name__)


@bp.get("/.well-known/jwks.json")
def jwks():
    """Every receipt-signing public key, current and retired."""
    response = jsonify(keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
