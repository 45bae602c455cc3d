"""Webhooks to company systems: an outbox written with the change, delivered after commit.

- ``models``: WebhookEndpoint (secret encrypted), WebhookDelivery (the outbox);
- ``service``: endpoints, ``emit()`` (writes deliveries in the caller's transaction), redelivery;
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
)
