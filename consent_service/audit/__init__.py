"""Tamper evidence (PIPL 54; GB/T 35273 11.7): the proof that history was not changed.

- ``models``: LedgerCheckpoint;
- ``checkpoints``: signed Merkle checkpoints of every chain head of an organization;
- ``verify``: ``verify_organization``, the one entry point of verification;
- ``chains``: one pass over every chain, state row and receipt;
- ``checkpoint_checks``: every checkpoint, and an exported head, against the chains;
- ``heads``: exported heads (the newest signed checkpoints, kept outside the database);
- ``report``: what a verification found;
- ``jobs``: scheduled checkpoints;
- ``cli``: ``flask audit verify``, ``flask audit checkpoint`` and ``flask audit export-head``.
"""
