"""The consent ledger.

- ``models``: Subject, ConsentEvent (append-only), ConsentState, LedgerCheckpoint;
- ``state``: the pure projection of a history onto a state;
- ``subjects``: subjects, their locks and the guardian-consent age rule;
- ``service``: consent acts and their rules (the write side);
- ``chain``: appending one event to a person's chain, its state and webhook; the expiry sweep;
- ``decisions``: ``decide()``, the one decision function;
- ``ledger``: hash chains, Merkle checkpoints and verification;
- ``jobs``: scheduled checkpoints and the consent-expiry sweep;
- ``api``, ``schemas``: the API routes; ``hotpath``: the decision routes' single statement;
- ``bulk``: importing a history from another platform;
- ``erasure``: erasing a person's information (PIPL 47), keeping the pseudonymized ledger and a
  signed record; ``redaction``: what it changes, the pseudonym and the record's signed content.
"""
