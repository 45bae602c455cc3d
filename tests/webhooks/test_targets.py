"""Webhooks cannot be pointed into the service's own network (server-side request forgery).

Each test reproduces a finding of a probe, with the deployment's default (private targets off,
as in production; the test configuration does not set it):

- addresses in every notation (``2130706433``, ``0x7f000001``, ``017700000001``, ``127.1``,
  ``[::1]``, ``[::ffff:127.0.0.1]``...) and ``localhost`` names are refused at registration;
- a name that resolves to an internal address is refused at registration and at delivery;
- a name that answers a public address at registration and an internal one at delivery (DNS
  rebinding) is refused at delivery, recorded as ``address_not_allowed``, and never connected;
- a delivery connects to the address that was checked: a fake resolver points a name at
  127.0.0.1 (the allow-list opted in) and the local receiver sees the name as ``Host``;
- the allow-list admits only its networks;
- the deliveries list shows fixed reasons, never the text of the connection error (which made
  it a port scanner).
"""

from __future__ import annotations

import logging
import socket
from ipaddress import ip_address

import pytest
from sqlalchemy import select

from consent_service.errors import InvalidInput
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.addresses import StaticResolver
from consent_service.webhooks.delivery import deliver_due
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import PUBLIC_ADDRESS
from tests.webhooks.receiver import Receiver, closed_port

PERSON = "li-lei-1990"
REFUSED = "must not point at a private or loopback address"

#: The probe's findings, then the other notations and kinds of non-public address.
INTERNAL_URLS = [
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://localhost./",
    "http://foo.localhost/",
    "http://[::1]/",
    "http://127.1/",
    "http://127.0.0.1./",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0/",
    "http://0.0.0.0:8080/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://192.168.0.1/",
    "https://10.0.0.1/hooks",
    "http://172.16.0.1/",
    "http://localhost:5000/",
    "http://LOCALHOST/",
    "https://shop.localhost./hooks",
]


def create(client, api, url, events=("*",)):
    return client.post("/api/v1/webhooks", json={"url": url, "events": list(events)}, headers=api.headers)


def grant(client, api, person=PERSON):
    """Register ``person`` and grant marketing: one delivery per webhook."""
    assert client.put(f"/api/v1/subjects/{person}", json={}, headers=api.headers).status_code == 201
    body = {"purpose": "marketing", "action": "grant", "consent_type": "explicit"}
    response = client.post(f"/api/v1/subjects/{person}/consents", json=body, headers=api.headers)
    assert response.status_code == 201, response.json


def deliveries(client, api, hook_id):
    response = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=api.headers)
    assert response.status_code == 200, response.json
    return response


@pytest.fixture
def settings(app, monkeypatch):
    """Set webhook settings for one test."""

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setitem(app.config, name, value)

    return set_


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket connects to during the test."""
    seen: list[tuple] = []
    guarded = socket.socket.connect

    def recording(sock, address):
        seen.append(address)
        return guarded(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    return seen


@pytest.fixture
def receiver():
    with Receiver() as live:
        yield live


class RebindingResolver:
    """Answers a public address the first time a name is asked, then 127.0.0.1."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host, port):
        self.asked.append(host)
        return [ip_address(PUBLIC_ADDRESS if len(self.asked) == 1 else "127.0.0.1")]


# --- registration ---------------------------------------------------------------------------------


def test_private_targets_are_off_unless_a_deployment_opts_in(app):
    assert app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is False
    assert app.config["WEBHOOK_ALLOWED_NETWORKS"] == ()


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_every_notation_of_an_internal_address_is_refused_at_registration(client, api, db, clock, url):
    response = create(client, api, url)
    assert response.status_code == 422, response.json
    assert response.json["code"] == "invalid_input"
    assert set(response.json["errors"]) == {"url"}
    # The service refuses it too, whatever the schema let through.
    with pytest.raises(InvalidInput) as excinfo:
        webhooks.create_endpoint(api.org, url, ["*"], clock.now())
    assert excinfo.value.details["url"] in ([REFUSED], ["must name a valid host"])
    db.session.rollback()
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_an_address_that_is_no_address_is_refused(client, api):
    response = create(client, api, "http://1.2.3.999/")
    assert response.status_code == 422
    assert response.json["errors"]["url"] == ["must name a valid host"]


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["fd00::7"], [PUBLIC_ADDRESS, "192.168.1.20"]],
    ids=["loopback", "private", "metadata", "ula", "one-of-two"],
)
def test_a_name_resolving_to_an_internal_address_is_refused_at_registration(client, api, settings, answers):
    resolver = StaticResolver({"crm.shop.example": answers})
    settings(WEBHOOK_RESOLVER=resolver)
    response = create(client, api, "https://crm.shop.example/hooks")
    assert response.status_code == 422, response.json
    assert response.json["errors"]["url"] == [REFUSED]
    assert resolver.asked == ["crm.shop.example"]
    for answer in answers:  # what the name resolves to is not told
        assert answer not in response.get_data(as_text=True)


def test_a_name_that_does_not_resolve_is_refused_at_registration(client, api, settings):
    settings(WEBHOOK_RESOLVER=StaticResolver())
    response = create(client, api, "https://gone.shop.example/hooks")
    assert response.status_code == 422
    assert response.json["errors"]["url"] == ["its host name does not resolve"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://10.20.1.2:8080/hooks", 201),
        ("http://[fd00::5]/hooks", 201),
        ("https://crm.corp/hooks", 201),  # resolves to 10.20.9.9
        ("https://hooks.shop.example/consent", 201),  # public
        ("http://10.21.0.1/hooks", 422),
        ("http://10.19.255.255/hooks", 422),
        ("https://erp.corp/hooks", 422),  # resolves to 10.30.0.1
        ("http://127.0.0.1/hooks", 422),
        ("http://[fc00::1]/hooks", 422),
        ("http://169.254.169.254/", 422),
        ("http://localhost/", 422),
    ],
)
def test_the_allow_list_admits_only_its_networks(client, api, settings, url, status):
    settings(
        WEBHOOK_ALLOWED_NETWORKS="10.20.0.0/16,fd00::/8",
        WEBHOOK_RESOLVER=StaticResolver(
            {"crm.corp": ["10.20.9.9"], "erp.corp": ["10.30.0.1"]}, default=[PUBLIC_ADDRESS]
        ),
    )
    response = create(client, api, url)
    assert response.status_code == status, response.json


# --- delivery ---------------------------------------------------------------------------------------


def test_a_name_resolving_to_an_internal_address_is_refused_at_delivery(
    client, api, db, clock, settings, receiver, connections
):
    # Registered while the deployment allowed private targets; it no longer does.
    settings(WEBHOOK_ALLOW_PRIVATE_HOSTS=True, WEBHOOK_RESOLVER=StaticResolver(default=["127.0.0.1"]))
    hook = create(client, api, f"http://crm.shop.example:{receiver.port}/hooks").json
    grant(client, api)
    settings(WEBHOOK_ALLOW_PRIVATE_HOSTS=False)
    assert deliver_due(clock.now())["retrying"] == 1
    assert receiver.attempts == [] and connections == []
    [listed] = deliveries(client, api, hook["id"]).json["deliveries"]
    assert (listed["status"], listed["last_reason"], listed["last_error"]) == (
        "pending",
        "address_not_allowed",
        "address not allowed",
    )


def test_a_rebinding_name_is_refused_at_delivery_and_never_connected(
    client, api, db, clock, settings, receiver, connections
):
    resolver = RebindingResolver()
    settings(WEBHOOK_RESOLVER=resolver)
    response = create(client, api, f"http://rebind.shop.example:{receiver.port}/hooks")
    assert response.status_code == 201, response.json  # public when registered
    grant(client, api)

    assert deliver_due(clock.now())["retrying"] == 1
    assert resolver.asked == ["rebind.shop.example", "rebind.shop.example"]
    assert connections == []  # the internal answer was checked, and nothing connected
    assert receiver.attempts == []
    [row] = db.session.scalars(select(WebhookDelivery)).all()
    assert (row.status, row.last_status_code, row.last_reason) == ("pending", None, "address_not_allowed")
    [listed] = deliveries(client, api, response.json["id"]).json["deliveries"]
    assert listed["last_reason"] == "address_not_allowed"
    assert listed["last_error"] == "address not allowed"
    assert listed["last_status_code"] is None and listed["last_status_class"] is None


def test_the_delivery_connects_to_the_checked_address_and_names_the_host(
    client, api, db, clock, settings, receiver, connections
):
    resolver = StaticResolver({"hooks.shop.test": ["127.0.0.1"]})
    settings(WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", WEBHOOK_RESOLVER=resolver)
    hook = create(client, api, f"http://hooks.shop.test:{receiver.port}/hooks").json
    grant(client, api)

    assert deliver_due(clock.now())["delivered"] == 1
    # Resolved once when registered and once for the delivery, which connected to that answer.
    assert resolver.asked == ["hooks.shop.test", "hooks.shop.test"]
    assert connections == [("127.0.0.1", receiver.port)]
    [attempt] = receiver.attempts
    assert attempt.headers["Host"] == f"hooks.shop.test:{receiver.port}"
    assert attempt.event["data"]["subject"] == PERSON
    [listed] = deliveries(client, api, hook["id"]).json["deliveries"]
    assert listed["status"] == "delivered"
    assert (listed["last_status_code"], listed["last_status_class"]) == (200, "2xx")
    assert (listed["last_reason"], listed["last_error"]) == (None, None)


def test_an_error_answer_is_listed_with_its_class(client, api, db, clock, settings):
    settings(WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    with Receiver(answer=503) as receiver:
        hook = create(client, api, receiver.url).json
        grant(client, api)
        deliver_due(clock.now())
    [listed] = deliveries(client, api, hook["id"]).json["deliveries"]
    assert (listed["last_status_code"], listed["last_status_class"]) == (503, "5xx")
    assert (listed["last_reason"], listed["last_error"]) == ("http_error", "HTTP 503")


def test_the_deliveries_list_never_shows_the_error_text(client, api, db, clock, settings, caplog):
    settings(WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    port = closed_port()
    hook = create(client, api, f"http://127.0.0.1:{port}/hooks").json
    grant(client, api)
    with caplog.at_level(logging.WARNING, logger="consent_service.webhooks.delivery"):
        assert deliver_due(clock.now())["retrying"] == 1

    response = deliveries(client, api, hook["id"])
    [listed] = response.json["deliveries"]
    assert listed["last_status_code"] is None and listed["last_status_class"] is None
    assert (listed["last_reason"], listed["last_error"]) == ("connection_refused", "connection refused")
    # The error's own text is in the log, for operators, without the person's data...
    [record] = [r for r in caplog.records if "failed" in r.getMessage()]
    logged = record.getMessage()
    assert "Errno" in logged or "Connection refused" in logged
    assert PERSON not in logged
    # ...and neither stored nor answered.
    text = response.get_data(as_text=True)
    [row] = db.session.scalars(select(WebhookDelivery)).all()
    for raw in ("Errno", "Connection refused", "NewConnectionError", "ConnectionRefusedError", "127.0.0.1"):
        assert raw not in text
        assert raw not in (row.last_error or "")
