"""Compliance records as PDF that verify offline.

- ``document``: a record (kind, template, plain data, tables) to a signed PDF/A-3b: the data
  attached as ``record.json`` (canonical JSON) and one ``.csv`` per table, and ``record.jws``,
  the service's signature over their SHA-256;
- ``verify``: ``verify_record(pdf, jwks)``: the attachments read back, their digests compared
  with what the signature covers, the signature checked against a JWK Set;
- ``consent_records``: the plain data of a consent receipt (PIPL 14, GB/T 35273 5.4) and of a
  person's consent record (PIPL 14-16, 44; GB/T 35273 11.7) from the ledger;
- ``api``: ``GET /subjects/{id}/record.pdf``, ``GET /receipts/{id}.pdf`` (``records:read``);
  ``cli``: ``flask records verify``;
- ``processing``: the record of processing activities (GB/T 35273 11.3);
- ``policy_archive``: every published version of the privacy policy (PIPL 17, GB/T 35273 5.5);
- ``report``: the compliance report of a period, counted in SQL (PIPL 54);
- ``request_record``: the reply and completion record of a rights request (PIPL 44-50).
"""
