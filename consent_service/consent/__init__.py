"""The consent ledger.

- ``models``: Subject, ConsentEvent (append-only), ConsentState, LedgerCheckpoint;
- ``state``: the pure projection of a history onto a state;
- ``service``: subjects and consent acts (the write side);
- ``decisions``: ``decide()``, the one decision function;
- ``ledger``: hash chains, Merkle checkpoints and verification;
- ``jobs``: scheduled checkpoints and the consent-expiry sweep.
"""
