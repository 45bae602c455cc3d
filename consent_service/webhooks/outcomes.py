"""What became of a delivery attempt, in fixed words.

A delivery records the status code the endpoint answered and a reason from :data:`REASONS`,
never the text of the error: that text names addresses, ports and what answered there, and a
caller who can register URLs and read deliveries would otherwise have a port scanner of the
service's network. The text is logged for operators and not kept.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Why an attempt did not succeed, and the fixed description recorded with it.
REASONS = {
    "http_error": "HTTP {status}",
    "address_not_allowed": "address not allowed",
    "dns_failure": "host name did not resolve",
    "connection_refused": "connection refused",
    "connection_failed": "connection failed",
    "timeout": "timed out",
    "tls_error": "TLS handshake or certificate verification failed",
    "protocol_error": "invalid HTTP answer",
    "endpoint_deleted": "endpoint deleted",
}

#: The classes of the status codes an endpoint can answer.
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True)
class Outcome:
    """One attempt: the status code answered (``None`` without an answer), the reason it failed
    (``None`` when accepted), and ``detail``, the error's own text, for the log only."""

    status_code: int | None
    reason: str | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        """Only the fixed reasons are recorded."""
        if self.reason is not None and self.reason not in REASONS:
            raise ValueError(f"unknown delivery reason {self.reason!r}")

    @classmethod
    def answered(cls, status_code: int) -> Outcome:
        """The endpoint answered: accepted when 2xx, otherwise ``http_error``."""
        return cls(status_code, None if 200 <= status_code < 300 else "http_error")

    @classmethod
    def failed(cls, reason: str, detail: str | None = None) -> Outcome:
        """No answer, for ``reason``."""
        return cls(None, reason, detail)

    @property
    def accepted(self) -> bool:
        """Whether the endpoint took the delivery (a 2xx answer)."""
        return self.reason is None and self.status_code is not None

    @property
    def description(self) -> str | None:
        """The fixed description of the reason (``HTTP 503``, ``connection refused``)."""
        return describe(self.reason, self.status_code)


def describe(reason: str | None, status_code: int | None = None) -> str | None:
    """The fixed description recorded for ``reason``."""
    if reason is None:
        return None
    return REASONS[reason].format(status=status_code)


def status_class(status_code: int | None) -> str | None:
    """``2xx``, ``4xx``... for a status code; ``None`` without one."""
    if status_code is None or not 100 <= status_code <= 599:
        return None
    return f"{status_code // 100}xx"
