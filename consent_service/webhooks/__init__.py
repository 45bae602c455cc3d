"""Webhooks to company systems: an outbox written with the change, delivered after commit.

- ``models``: WebhookEndpoint (secret encrypted), WebhookDelivery (the outbox);
- ``service``: endpoints, ``emit()`` (writes deliveries in the caller's transaction), redelivery;
- ``addresses``: which addresses a webhook may reach (public ones, unless the deployment allows
  its private networks), every notation of an address, and the resolver;
- ``transport``: the POST, to exactly the address that was checked (the name as ``Host`` and
  TLS server name);
- ``outcomes``: what became of an attempt, in fixed words (never the error's text);
- ``delivery``: signing, sending, retries with exponential backoff for 24 hours, and the
  in-process dispatcher woken by a commit that wrote deliveries;
- ``api``: ``/api/v1/webhooks``.
"""

#: Event types a subscriber may ask for.
EVENT_TYPES = (
    "consent.granted",
    "consent.withdrawn",
    "consent.refused",
    "consent.expired",
    "consent.invalidated",
    "policy.published",
    "purpose.changed",
    "subject.deleted",
    "rights.request.created",
    "rights.request.at_risk",
    "rights.request.overdue",
    "rights.request.completed",
    "rights.request.refused",
    "rights.task.opened",
)
