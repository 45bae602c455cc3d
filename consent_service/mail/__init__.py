"""The mail room: mail written with the change that causes it, sent after commit.

- ``models``: MailMessage, the outbox (recipient and content encrypted, erased once sent);
- ``envelope``: what a mail says, its checks, its sealing at rest and the MIME message built from it;
- ``service``: ``queue_mail()`` (in the caller's transaction) and ``deliver_due_mail()`` (retries
  with exponential backoff, then failed);
- ``transports``: the ``MailTransport`` interface and its file, SMTP and memory implementations,
  chosen by ``MAIL_TRANSPORT``;
- ``jobs``: the scheduled delivery.
"""
