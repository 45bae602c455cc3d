"""Tamper evidence (PIPL 51, 54; GB/T 35273 11.7): the proof that history was not changed,
and the audit trail of who changed what.

- ``models``: LedgerCheckpoint, AuditEntry and AuditHead;
- ``trail``: the audit trail, who did what (``record``), a hash chain per organization;
- ``trail_checks``: every entry of a trail, its link and its number;
- ``checkpoints``: signed Merkle checkpoints of every chain head of an organization;
- ``verify``: ``verify_organization``, the one entry point of verification;
- ``chains``: one pass over every chain, state row and receipt;
- ``checkpoint_checks``: every checkpoint, and an exported head, against the chains;
- ``heads``: exported heads (the newest signed checkpoints, kept outside the database);
- ``report``: what a verification found;
- ``jobs``: scheduled checkpoints;
- ``cli``: ``flask audit verify``, ``flask audit checkpoint`` and ``flask audit export-head``.
"""
