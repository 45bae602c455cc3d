"""Exports of an organization's records as CSV or JSON Lines, written in the background.

``rows``     the columns of each kind (consent events, rights requests) and the period's bounds,
             read from a server-side cursor as plain tuples
``writers``  the rows as CSV or JSON Lines text, a chunk at a time
``models``   ExportJob: what was asked for, by whom, its progress and its file
``service``  request_export, claim_next, write_export, finish / fail, purge_expired
``jobs``     the scheduler's jobs: run what is queued, purge what has expired
"""
