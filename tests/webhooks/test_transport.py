"""The POST of a delivery, against real receivers on 127.0.0.1: it connects to exactly the
addresses that were checked (the name resolved once, never again by the connection), sends the
name as ``Host`` and, over HTTPS, as the server name the certificate is verified against; and
it answers every failure in fixed words, its text kept for the log.

Names are resolved by fakes (``StaticResolver``); 127.0.0.1 is reachable only because these
tests opt in with the allow-list, as a deployment on a private network would.
"""

from __future__ import annotations

import base64
import socket
import threading
from ipaddress import ip_network

import pytest

from consent_service.webhooks.addresses import AddressPolicy, StaticResolver
from consent_service.webhooks.outcomes import REASONS
from consent_service.webhooks.transport import PinnedSender, reason_for
from tests.webhooks.receiver import Receiver, closed_port, make_certificates

LOOPBACK_ALLOWED = AddressPolicy(networks=(ip_network("127.0.0.0/8"),))
BODY = b'{"type":"consent.withdrawn"}'
HEADERS = {"Content-Type": "application/json", "X-Consent-Event": "consent.withdrawn"}


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket connects to during the test, in order."""
    seen: list[tuple] = []
    guarded = socket.socket.connect  # already the conftest's guard

    def recording(sock, address):
        seen.append(address)
        return guarded(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    return seen


@pytest.fixture
def receiver():
    with Receiver() as live:
        yield live


def post(sender: PinnedSender, url: str, timeout: float = 5):
    return sender(url, BODY, dict(HEADERS), timeout)


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(receiver, connections):
    resolver = StaticResolver({"hooks.shop.test": ["127.0.0.1"]})
    sender = PinnedSender(LOOPBACK_ALLOWED, resolver)
    outcome = post(sender, f"http://hooks.shop.test:{receiver.port}/hooks?v=1")
    assert outcome.accepted and outcome.status_code == 200
    assert resolver.asked == ["hooks.shop.test"]  # once: the connection resolved nothing
    assert connections == [("127.0.0.1", receiver.port)]
    [attempt] = receiver.attempts
    assert attempt.headers["Host"] == f"hooks.shop.test:{receiver.port}"
    assert attempt.path == "/hooks?v=1"
    assert attempt.body == BODY
    assert attempt.headers["X-Consent-Event"] == "consent.withdrawn"


def test_each_checked_address_is_tried_in_turn(receiver, connections):
    # Nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1 alone).
    resolver = StaticResolver({"hooks.shop.test": ["127.0.0.2", "127.0.0.1"]})
    outcome = post(PinnedSender(LOOPBACK_ALLOWED, resolver), f"http://hooks.shop.test:{receiver.port}/hooks")
    assert outcome.accepted
    assert connections == [("127.0.0.2", receiver.port), ("127.0.0.1", receiver.port)]
    assert len(receiver.attempts) == 1


@pytest.mark.parametrize(
    "answers", [["127.0.0.1"], ["93.184.215.14", "127.0.0.1"]], ids=["internal", "one-internal"]
)
def test_an_internal_answer_is_refused_before_any_connection(receiver, connections, answers):
    resolver = StaticResolver({"hooks.shop.test": answers})
    outcome = post(PinnedSender(AddressPolicy(), resolver), f"http://hooks.shop.test:{receiver.port}/hooks")
    assert (outcome.status_code, outcome.reason) == (None, "address_not_allowed")
    assert connections == []
    assert receiver.attempts == []


def test_an_address_outside_the_allowed_networks_is_refused(receiver, connections):
    policy = AddressPolicy(networks=(ip_network("10.20.0.0/16"),))
    outcome = post(PinnedSender(policy, StaticResolver()), f"http://127.0.0.1:{receiver.port}/hooks")
    assert outcome.reason == "address_not_allowed"
    assert connections == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "017700000001", "localhost", "foo.localhost."])
def test_literal_notations_and_localhost_are_refused_at_delivery(receiver, connections, host):
    resolver = StaticResolver(default=["127.0.0.1"])
    outcome = post(PinnedSender(AddressPolicy(), resolver), f"http://{host}:{receiver.port}/hooks")
    assert outcome.reason == "address_not_allowed"
    assert connections == [] and resolver.asked == []


def test_a_name_that_does_not_resolve_is_a_dns_failure(connections):
    outcome = post(PinnedSender(LOOPBACK_ALLOWED, StaticResolver()), "http://gone.shop.test/hooks")
    assert (outcome.status_code, outcome.reason) == (None, "dns_failure")
    assert connections == []


def test_a_closed_port_is_connection_refused():
    port = closed_port()
    outcome = post(PinnedSender(LOOPBACK_ALLOWED, StaticResolver()), f"http://127.0.0.1:{port}/hooks")
    assert (outcome.status_code, outcome.reason) == (None, "connection_refused")
    assert outcome.description == "connection refused"
    assert "refused" in outcome.detail.lower()  # the error's own text, for the log


def test_an_endpoint_that_never_answers_is_a_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are queued, never answered
        port = silent.getsockname()[1]
        outcome = post(
            PinnedSender(LOOPBACK_ALLOWED, StaticResolver()), f"http://127.0.0.1:{port}/hooks", timeout=0.2
        )
    assert (outcome.status_code, outcome.reason) == (None, "timeout")


def test_an_answer_that_is_not_http_is_a_protocol_error():
    with socket.socket() as liar:
        liar.bind(("127.0.0.1", 0))
        liar.listen()
        port = liar.getsockname()[1]

        def answer() -> None:
            connection, _ = liar.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        outcome = post(PinnedSender(LOOPBACK_ALLOWED, StaticResolver()), f"http://127.0.0.1:{port}/hooks")
        thread.join(5)
    assert (outcome.status_code, outcome.reason) == (None, "protocol_error")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(status):
    with Receiver(answer=status) as receiver:
        outcome = post(PinnedSender(LOOPBACK_ALLOWED, StaticResolver()), receiver.url)
        assert (outcome.status_code, outcome.reason) == (status, "http_error")
        assert outcome.description == f"HTTP {status}"
        assert len(receiver.attempts) == 1


def test_credentials_in_the_url_are_sent_as_basic_auth(receiver):
    resolver = StaticResolver({"hooks.shop.test": ["127.0.0.1"]})
    url = f"http://shop:p%40ss@hooks.shop.test:{receiver.port}/hooks"
    assert post(PinnedSender(LOOPBACK_ALLOWED, resolver), url).accepted
    expected = "Basic " + base64.b64encode(b"shop:p@ss").decode()
    assert receiver.attempts[0].headers["Authorization"] == expected
    assert receiver.attempts[0].headers["Host"] == f"hooks.shop.test:{receiver.port}"


# --- HTTPS: the TCP connection to the checked address, TLS to the name --------------------------------


@pytest.fixture
def certificates(tmp_path):
    return make_certificates(tmp_path / "tls", "hooks.shop.test")


@pytest.fixture
def tls_receiver(certificates):
    with Receiver(tls=certificates.server_context()) as live:
        yield live


def test_https_verifies_the_certificate_against_the_name(tls_receiver, certificates, connections):
    resolver = StaticResolver({"hooks.shop.test": ["127.0.0.1"]})
    sender = PinnedSender(LOOPBACK_ALLOWED, resolver, ca_certs=str(certificates.ca_file))
    outcome = post(sender, f"https://hooks.shop.test:{tls_receiver.port}/hooks")
    assert outcome.accepted, outcome
    assert connections == [("127.0.0.1", tls_receiver.port)]
    assert tls_receiver.server_names == ["hooks.shop.test"]  # SNI: the name, not the address
    [attempt] = tls_receiver.attempts
    assert attempt.headers["Host"] == f"hooks.shop.test:{tls_receiver.port}"


def test_https_refuses_a_certificate_for_another_name(tls_receiver, certificates):
    # The same server at the same address, asked for by a name its certificate does not carry.
    resolver = StaticResolver({"other.shop.test": ["127.0.0.1"]})
    sender = PinnedSender(LOOPBACK_ALLOWED, resolver, ca_certs=str(certificates.ca_file))
    outcome = post(sender, f"https://other.shop.test:{tls_receiver.port}/hooks")
    assert (outcome.status_code, outcome.reason) == (None, "tls_error")
    assert tls_receiver.attempts == []


def test_https_refuses_a_certificate_no_trusted_ca_signed(tls_receiver):
    resolver = StaticResolver({"hooks.shop.test": ["127.0.0.1"]})
    outcome = post(PinnedSender(LOOPBACK_ALLOWED, resolver), f"https://hooks.shop.test:{tls_receiver.port}/h")
    assert outcome.reason == "tls_error"  # certifi's bundle does not know the test CA
    assert tls_receiver.attempts == []


def test_https_to_an_address_literal_checks_the_certificate_against_it(tls_receiver, certificates):
    sender = PinnedSender(LOOPBACK_ALLOWED, StaticResolver(), ca_certs=str(certificates.ca_file))
    outcome = post(sender, tls_receiver.url)  # https://127.0.0.1:<port>/hooks
    assert outcome.reason == "tls_error"  # the certificate names hooks.shop.test only
    assert tls_receiver.attempts == []


def test_every_error_has_a_fixed_reason():
    assert reason_for(ConnectionRefusedError(111, "Connection refused")) == "connection_refused"
    assert reason_for(TimeoutError("timed out")) == "timeout"
    assert reason_for(ConnectionResetError(104, "reset")) == "connection_failed"
    assert reason_for(RuntimeError("anything else")) in REASONS
