"""Web plumbing shared by every blueprint.

- ``errors``: error pages and problem documents, in one place;
- ``security``: the security headers of every answer, and ``no_store`` for what no cache may keep;
- ``redaction``: the log filter that keeps email addresses and phone numbers out of log lines.
"""
