"""Compliance records as plain data, rendered to PDF (PIPL 51, 54; GB/T 35273 11.3, 11.7).

- ``processing``: the record of processing activities (GB/T 11.3);
- ``policy_archive``: every published version of the privacy policy (PIPL 17, GB/T 5.5).
"""
