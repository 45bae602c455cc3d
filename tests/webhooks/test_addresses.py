"""Which addresses webhooks may reach: every notation of an address read as resolvers read it,
non-public addresses refused (IPv4 and IPv6, and IPv4 carried in IPv6), ``localhost`` names
refused, names checked by what they resolve to, and the allow-list admitting only its networks.
"""

from __future__ import annotations

import socket
from ipaddress import ip_address, ip_network

import pytest

from consent_service.webhooks.addresses import (
    AddressNotAllowed,
    AddressPolicy,
    InvalidHost,
    StaticResolver,
    SystemResolver,
    Unresolved,
    addresses_to_connect,
    canonical,
    check_host,
    is_loopback_name,
    is_public,
    literal_address,
)

PUBLIC = "93.184.215.14"
HOSTED = AddressPolicy()
PRIVATE_NETWORK = AddressPolicy(networks=(ip_network("10.20.0.0/16"), ip_network("fd00::/8")))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # one decimal number
        ("0x7f000001", "127.0.0.1"),  # one hex number
        ("0X7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),  # one octal number
        ("127.1", "127.0.0.1"),  # two parts: the last fills three bytes
        ("127.0.1", "127.0.0.1"),  # three parts: the last fills two bytes
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),  # trailing dot
        ("2130706433.", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104  (an address read, not bound)
        ("0x", "0.0.0.0"),  # noqa: S104
        ("10.0x10.0.1", "10.16.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("4294967295", "255.255.255.255"),
        ("8.8.8.8", "8.8.8.8"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("0:0:0:0:0:0:0:1", "::1"),
    ],
)
def test_every_notation_of_an_address_is_read_as_resolvers_read_it(host, address):
    assert literal_address(host) == ip_address(address)


@pytest.mark.parametrize(
    "host", ["hooks.example", "hooks.example.", "localhost", "1e5.example", "0x7g", "123.example", "a-1"]
)
def test_names_are_not_addresses(host):
    assert literal_address(host) is None


@pytest.mark.parametrize(
    "host",
    ["1.2.3.999", "256.1.1.1", "1.2.3.4.5", "4294967296", "1.16777216", "foo.123", "09", "08.1.2.3", ":::1"],
)
def test_what_ends_in_a_number_but_is_no_address_is_invalid(host):
    with pytest.raises(InvalidHost):
        literal_address(host)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # link-local: the cloud metadata service
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",  # noqa: S104  (unspecified: connecting to it reaches this machine)
        "0.1.2.3",
        "255.255.255.255",
        "224.0.0.1",  # multicast
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "192.0.0.1",
        "192.0.2.1",  # documentation
        "198.18.0.1",  # benchmarking
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",  # site-local (deprecated, still not public)
        "ff02::1",  # multicast
        "100::1",  # discard
        "2001:db8::1",  # documentation
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001::1",  # Teredo
        "5f00::1",  # reserved
    ],
)
def test_non_public_addresses_are_not_public(address):
    assert not is_public(ip_address(address))
    assert not HOSTED.allows(ip_address(address))


@pytest.mark.parametrize(
    "address", [PUBLIC, "8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_public(address):
    assert is_public(ip_address(address))
    assert HOSTED.allows(ip_address(address))


def test_an_ipv4_mapped_address_is_its_ipv4_address():
    assert canonical(ip_address("::ffff:10.20.0.1")) == ip_address("10.20.0.1")
    assert canonical(ip_address("2001:db8::1")) == ip_address("2001:db8::1")


@pytest.mark.parametrize("host", ["localhost", "localhost.", "LOCALHOST", "foo.localhost", "a.b.localhost."])
def test_localhost_names(host):
    assert is_loopback_name(host)


@pytest.mark.parametrize("host", ["localhost.example", "mylocalhost", "localhostx"])
def test_names_that_only_look_like_localhost(host):
    assert not is_loopback_name(host)


# --- the policy and its allow-list ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.20.0.1", True),
        ("10.20.255.254", True),
        ("::ffff:10.20.0.1", True),
        ("fd00::1", True),
        ("fdff:ffff::1", True),
        ("10.21.0.1", False),
        ("10.19.255.255", False),
        ("127.0.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("fc00::1", False),
        ("::1", False),
        (PUBLIC, True),  # public addresses stay reachable
    ],
)
def test_the_allow_list_admits_only_its_networks(address, allowed):
    assert PRIVATE_NETWORK.allows(ip_address(address)) is allowed


def test_allowing_private_hosts_allows_every_address():
    policy = AddressPolicy(allow_private=True)
    assert all(policy.allows(ip_address(a)) for a in ("127.0.0.1", "::1", "10.0.0.1", "169.254.169.254"))


def test_the_policy_comes_from_the_configuration():
    policy = AddressPolicy.from_config(
        {"WEBHOOK_ALLOW_PRIVATE_HOSTS": False, "WEBHOOK_ALLOWED_NETWORKS": "10.20.0.0/16, fd00::/8"}
    )
    assert policy == PRIVATE_NETWORK


# --- names: resolved once, every address checked ----------------------------------------------------


def test_a_name_connects_to_the_addresses_it_resolved_to():
    resolver = StaticResolver({"hooks.shop.example": [PUBLIC, "2606:4700::1111"]})
    found = addresses_to_connect("hooks.shop.example", 443, HOSTED, resolver)
    assert found == [ip_address(PUBLIC), ip_address("2606:4700::1111")]
    assert resolver.asked == ["hooks.shop.example"]


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["::1"], ["::ffff:127.0.0.1"], [PUBLIC, "10.0.0.7"]],
    ids=["loopback", "private", "metadata", "ipv6-loopback", "mapped", "one-of-two"],
)
def test_a_name_resolving_to_any_internal_address_is_refused(answers):
    resolver = StaticResolver({"internal.shop.example": answers})
    with pytest.raises(AddressNotAllowed):
        addresses_to_connect("internal.shop.example", 443, HOSTED, resolver)
    with pytest.raises(AddressNotAllowed):
        check_host("internal.shop.example", 443, HOSTED, resolver)


def test_a_name_resolving_into_the_allowed_networks_is_admitted():
    resolver = StaticResolver({"crm.corp": ["10.20.3.4"], "erp.corp": ["10.30.0.1"]})
    assert addresses_to_connect("crm.corp", 443, PRIVATE_NETWORK, resolver) == [ip_address("10.20.3.4")]
    with pytest.raises(AddressNotAllowed):
        addresses_to_connect("erp.corp", 443, PRIVATE_NETWORK, resolver)


def test_literal_addresses_and_localhost_names_are_never_resolved():
    resolver = StaticResolver(default=[PUBLIC])
    for host in ("2130706433", "127.1", "localhost", "foo.localhost."):
        with pytest.raises(AddressNotAllowed):
            addresses_to_connect(host, 80, HOSTED, resolver)
    assert addresses_to_connect("8.8.8.8", 80, HOSTED, resolver) == [ip_address("8.8.8.8")]
    assert resolver.asked == []


def test_allowing_private_hosts_resolves_localhost_like_any_name():
    resolver = StaticResolver({"localhost": ["127.0.0.1"]})
    assert addresses_to_connect("localhost", 80, AddressPolicy(allow_private=True), resolver) == [
        ip_address("127.0.0.1")
    ]


def test_a_name_without_addresses_is_unresolved():
    with pytest.raises(Unresolved) as excinfo:
        addresses_to_connect("gone.shop.example", 443, HOSTED, StaticResolver())
    assert excinfo.value.reason == "dns_failure"


def test_registration_with_private_hosts_allowed_asks_no_resolver():
    resolver = StaticResolver()
    check_host("hooks.shop.example", 443, AddressPolicy(allow_private=True), resolver)
    check_host("127.0.0.1", 443, AddressPolicy(allow_private=True), resolver)
    assert resolver.asked == []
    with pytest.raises(InvalidHost):
        check_host("1.2.3.999", 443, AddressPolicy(allow_private=True), resolver)


def test_non_ascii_names_are_resolved_in_idna():
    resolver = StaticResolver(default=[PUBLIC])
    addresses_to_connect("bücher.example", 443, HOSTED, resolver)
    assert resolver.asked == ["xn--bcher-kva.example"]


# --- the system resolver ----------------------------------------------------------------------------


def test_the_system_resolver_answers_addresses_once_each():
    found = SystemResolver()("localhost", 80)
    assert found and all(address.is_loopback for address in found)
    assert len(found) == len(set(found))


def test_the_system_resolver_failing_is_unresolved(monkeypatch):
    def failing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(Unresolved):
        SystemResolver()("nowhere.shop.example", 443)
