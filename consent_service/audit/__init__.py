"""Tamper evidence (PIPL 54; GB/T 35273 11.7): the proof that history was not changed.

- ``models``: LedgerCheckpoint;
- ``checkpoints``: signed Merkle checkpoints of every chain head of an organization;
- ``verify``: every chain, state row and checkpoint checked again;
- ``jobs``: scheduled checkpoints;
- ``cli``: ``flask audit verify`` and ``flask audit checkpoint``.
"""
