"""Which addresses a webhook may reach, and the one resolution a delivery connects with.

A webhook URL is the company's, and the service posts to it from inside its own network: a
URL naming a loopback, private or otherwise non-public address would let a caller of the API
reach the service's neighbours (server-side request forgery). So, unless the deployment opts
in (``WEBHOOK_ALLOW_PRIVATE_HOSTS``, or the networks of ``WEBHOOK_ALLOWED_NETWORKS``):

- a host written as an address is read the way resolvers read it, in every notation
  (``2130706433``, ``0x7f000001``, ``017700000001``, ``127.1``, ``[::ffff:127.0.0.1]``...),
  and refused when the address is not public;
- ``localhost`` and every ``*.localhost`` name (RFC 6761) are refused, with or without the
  trailing dot;
- any other name is resolved, and refused when any of its addresses is not public.

This is checked when a webhook is registered and again at every delivery, where the addresses
checked are the ones connected to (``transport``): the name is never resolved a second time,
so a name that answers a public address first and an internal one next (DNS rebinding) gets
nowhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consent_service.config import parse_networks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS = {"http": 80, "https": 443}

#: RFC 6052 well-known NAT64 prefix: the last 32 bits are the IPv4 address reached.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")

_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


class AddressError(Exception):
    """A webhook host that cannot be used; ``reason`` is the delivery reason it is recorded as,
    ``message`` what the API says about the URL (never an address the name resolved to)."""

    reason = "address_not_allowed"
    message = "must not point at a private or loopback address"


class AddressNotAllowed(AddressError):
    """The host is, or resolves to, an address this deployment does not reach."""


class InvalidHost(AddressError):
    """The host looks like an address but is none (``1.2.3.999``), or is no valid name."""

    message = "must name a valid host"


class Unresolved(AddressError):
    """The name has no address (or the resolver failed)."""

    reason = "dns_failure"
    message = "its host name does not resolve"


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` (a URL's host, without brackets) names literally, read as resolvers
    and browsers read it (WHATWG URL, ``inet_aton``): IPv6, or IPv4 of one to four parts, each
    decimal, octal (leading ``0``) or hex (``0x``), the last filling the remaining bytes, with an
    optional trailing dot. ``None`` for a name; :class:`InvalidHost` for something that ends in
    a number but is no address (``1.2.3.999``, ``foo.123``)."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidHost(host) from None
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not labels or not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_IPV4_PART.fullmatch(label) for label in labels):
        raise InvalidHost(host)
    numbers = [_ipv4_number(label) for label in labels]
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        raise InvalidHost(host)
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ipv4_number(label: str) -> int:
    """One part of an IPv4 address in its own base (``0x`` hex, leading ``0`` octal)."""
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label[1:], 8)
    return int(label)


def is_loopback_name(host: str) -> bool:
    """``localhost`` or a name under it (RFC 6761 6.3), trailing dot or not."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def canonical(address: IPAddress) -> IPAddress:
    """The address as connected to: an IPv4-mapped IPv6 address is its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address, and so is every IPv4 address it
    carries (IPv4-mapped, NAT64, 6to4, Teredo): not private, loopback, link-local, site-local,
    multicast, unspecified, reserved, shared (100.64/10) or for documentation."""
    address = canonical(address)
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_PREFIX:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
        if address.teredo is not None or address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


@dataclass(frozen=True)
class AddressPolicy:
    """What a deployment's webhooks may reach: public addresses always; non-public ones when
    ``allow_private``, or when they lie in one of ``networks``."""

    allow_private: bool = False
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AddressPolicy:
        """The policy of ``WEBHOOK_ALLOW_PRIVATE_HOSTS`` and ``WEBHOOK_ALLOWED_NETWORKS``."""
        return cls(
            allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE_HOSTS")),
            networks=parse_networks(config.get("WEBHOOK_ALLOWED_NETWORKS")),
        )

    def allows(self, address: IPAddress) -> bool:
        """Whether a webhook may connect to ``address``."""
        address = canonical(address)
        if self.allow_private or is_public(address):
            return True
        return any(address.version == network.version and address in network for network in self.networks)


class Resolver(Protocol):
    """Turns a host name into the addresses to connect to; :class:`Unresolved` when it has none."""

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]: ...


class SystemResolver:
    """The system's resolver (``getaddrinfo``): addresses in the order it prefers, each once."""

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        """Resolve ``host`` for a TCP connection to ``port``."""
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise Unresolved(f"{host}: {exc}") from None
        addresses: list[IPAddress] = []
        for family, _type, _proto, _name, sockaddr in answers:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = ipaddress.ip_address(sockaddr[0])  # a link-local IPv6 address keeps its scope
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise Unresolved(f"{host}: no address")
        return addresses


@dataclass
class StaticResolver:
    """A resolver that answers from a table (tests, demos): ``answers`` maps a name to its
    addresses; any other name gets ``default``, or is :class:`Unresolved` without one. Every
    question is kept in ``asked``."""

    answers: Mapping[str, Iterable[str]] = field(default_factory=dict)
    default: Iterable[str] = ()
    asked: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        """The table's addresses for ``host``."""
        self.asked.append(host)
        name = host.lower().rstrip(".")
        found = [ipaddress.ip_address(a) for a in self.answers.get(name, self.default)]
        if not found:
            raise Unresolved(f"{host}: not in the table")
        return found


def resolver_from_config(config: Mapping[str, Any]) -> Resolver:
    """``WEBHOOK_RESOLVER``, or the system's."""
    return config.get("WEBHOOK_RESOLVER") or SystemResolver()


def ascii_host(host: str) -> str:
    """``host`` as it goes on the wire and to the resolver (IDNA for a non-ASCII name)."""
    try:
        return host.encode("ascii").decode() if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidHost(host) from None


def addresses_to_connect(host: str, port: int, policy: AddressPolicy, resolver: Resolver) -> list[IPAddress]:
    """The addresses a webhook to ``host``:``port`` connects to, every one allowed by
    ``policy``: the literal address, or the name resolved once. :class:`AddressNotAllowed` when
    any is not allowed (no connection may be tried), :class:`Unresolved`, :class:`InvalidHost`."""
    literal = literal_address(host)
    if literal is not None:
        found: Sequence[IPAddress] = [literal]
    elif is_loopback_name(host) and not policy.allow_private:
        raise AddressNotAllowed(host)
    else:
        found = resolver(ascii_host(host), port)
    if not found:
        raise Unresolved(host)
    addresses = [canonical(address) for address in found]
    refused = [str(address) for address in addresses if not policy.allows(address)]
    if refused:
        raise AddressNotAllowed(f"{host}: {', '.join(refused)}")  # for the log, never the API
    return addresses


def check_host(host: str, port: int, policy: AddressPolicy, resolver: Resolver) -> None:
    """What registering a webhook checks: the host is valid and, unless every address is
    allowed anyway, names or resolves to allowed addresses only."""
    if policy.allow_private:
        literal_address(host)
        ascii_host(host)
        return
    addresses_to_connect(host, port, policy, resolver)
