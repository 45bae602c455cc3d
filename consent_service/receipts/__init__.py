"""Signed consent receipts and the keys that sign them.

- ``models``: SigningKey, ConsentReceipt;
- ``keys``: key creation, rotation, the proof that a key is the service's own, JWS signing and
  verification, the JWK Set;
- ``service``: building, issuing and verifying receipts (Kantara CR v1.1 + PIPL), erasing their
  tokens (PIPL 47);
- ``api``, ``schemas``: ``GET /receipts/{id}`` (410 once erased); ``views``: ``/.well-known/jwks.json``.
"""
