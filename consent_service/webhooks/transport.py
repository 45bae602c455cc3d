"""The HTTP POST of a delivery, to exactly the addresses that were checked.

The host name is resolved once (``addresses.addresses_to_connect``), every address checked, and
then urllib3 connects to an address, never to the name: its connection pool is opened on the
checked IP, so nothing resolves the name a second time between the check and the connection
(the window DNS rebinding uses). The name still goes where it belongs: in the ``Host`` header
and, for HTTPS, as the TLS server name (SNI) the certificate is verified against
(``server_hostname``; verification is required, against ``WEBHOOK_CA_BUNDLE`` or certifi's
bundle). Redirects are never followed, proxies from the environment are never used (a proxy
would resolve the name itself), and the answer's body is not read.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3 import exceptions as urllib3_errors
from urllib3.util import make_headers, parse_url

from consent_service.webhooks.addresses import (
    DEFAULT_PORTS,
    AddressError,
    AddressPolicy,
    IPAddress,
    Resolver,
    addresses_to_connect,
    ascii_host,
    resolver_from_config,
)
from consent_service.webhooks.outcomes import Outcome


class PinnedSender:
    """Sends a delivery with ``policy`` deciding the addresses, ``resolver`` naming them, and
    certificates verified against ``ca_certs`` (a PEM file; certifi's bundle when empty)."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver, ca_certs: str | None = None) -> None:
        self.policy = policy
        self.resolver = resolver
        self.ca_certs = ca_certs or certifi.where()

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        """POST ``body`` to ``url``; the outcome in fixed words, the error's text as its detail."""
        parts = urlsplit(url)
        try:
            host, port = parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme]
            addresses = addresses_to_connect(host, port, self.policy, self.resolver)
            name = ascii_host(host)
        except AddressError as exc:
            return Outcome.failed(exc.reason, _detail(exc))
        except (KeyError, ValueError) as exc:  # a URL stored before it was checked as it is now
            return Outcome.failed("address_not_allowed", _detail(exc))
        request_headers = {**_basic_auth(parts), **headers, "Host": _host_header(name, port, parts.scheme)}
        target = parse_url(url).request_uri
        not_connected: Exception | None = None
        for address in addresses:
            pool = self._pool(parts.scheme, address, port, name, timeout)
            try:
                response = pool.urlopen(
                    "POST",
                    target,
                    body=body,
                    headers=request_headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                )
            except (urllib3_errors.NewConnectionError, urllib3_errors.ConnectTimeoutError) as exc:
                not_connected = exc  # nothing was sent: try the next address
                pool.close()
                continue
            except (urllib3_errors.HTTPError, OSError, http.client.HTTPException) as exc:
                pool.close()
                return Outcome.failed(reason_for(exc), _detail(exc))
            try:
                return Outcome.answered(response.status)
            finally:
                response.close()
                pool.close()
        assert not_connected is not None
        return Outcome.failed(reason_for(not_connected), _detail(not_connected))

    def _pool(
        self, scheme: str, address: IPAddress, port: int, name: str, timeout: float
    ) -> HTTPConnectionPool:
        """A pool of one connection to ``address`` itself; for HTTPS the name is the server name
        the certificate must be valid for."""
        limits = Timeout(connect=timeout, read=timeout)
        if scheme == "https":
            return HTTPSConnectionPool(
                str(address),
                port,
                timeout=limits,
                maxsize=1,
                retries=False,
                cert_reqs=ssl.CERT_REQUIRED,
                ca_certs=self.ca_certs,
                server_hostname=name,
            )
        return HTTPConnectionPool(str(address), port, timeout=limits, maxsize=1, retries=False)


def sender_from_config(config: Mapping[str, Any]) -> PinnedSender:
    """The sender this configuration asks for (address policy, resolver, CA bundle)."""
    return PinnedSender(
        AddressPolicy.from_config(config),
        resolver_from_config(config),
        config.get("WEBHOOK_CA_BUNDLE") or None,
    )


def reason_for(exc: BaseException) -> str:
    """The fixed reason of an error of urllib3, the socket or TLS."""
    chain = list(_chain(exc))
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError | urllib3_errors.SSLError) for e in chain):
        return "tls_error"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection_refused"
    if any(
        isinstance(e, TimeoutError | urllib3_errors.ReadTimeoutError)
        or type(e) is urllib3_errors.ConnectTimeoutError
        for e in chain
    ):
        return "timeout"
    if any(isinstance(e, OSError | urllib3_errors.NewConnectionError) for e in chain):
        return "connection_failed"
    if any(isinstance(e, http.client.HTTPException) for e in chain):
        return "protocol_error"
    return "connection_failed"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every error it wraps (causes, contexts, and urllib3's wrapped arguments)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo += [e for e in wrapped if isinstance(e, BaseException)]


def _detail(exc: BaseException) -> str:
    """The error's own text, for the log."""
    return f"{type(exc).__name__}: {exc}"[:500]


def _host_header(name: str, port: int, scheme: str) -> str:
    """The ``Host`` header of a request to ``name``:``port``."""
    shown = f"[{name}]" if ":" in name else name
    return shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"


def _basic_auth(parts: Any) -> dict[str, str]:
    """The ``Authorization`` header of credentials written in the URL, as requests sends them."""
    if parts.username is None:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Authorization": make_headers(basic_auth=credentials)["authorization"]}
