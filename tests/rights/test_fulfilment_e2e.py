"""A request carried out end to end over HTTP: the company registers a system whose fake back
end listens on 127.0.0.1; the task reaches it as a signed webhook; the system reads the task
and answers it through the API with its own token; the request completes and the person is
told. Nothing but this machine is reached."""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from sqlalchemy import select

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.unit_of_work import unit_of_work
from consent_service.webhooks.delivery import SIGNATURE_HEADER, deliver_due, verify_signature
from tests.api.live import LiveServer, bearer_headers, dispose, make_live_app, make_tenant
from tests.rights.conftest import mails

ARRIVAL_TIMEOUT = 10


class FakeSystem:
    """A company's order database: it checks each webhook's signature, answers 200, then reads
    its task and posts the person's orders (or the time of a deletion) back over HTTP."""

    def __init__(self) -> None:
        self.api = ""
        self.headers: dict[str, str] = {}
        self.secret = ""
        self.now = 0
        self.answers: list[dict] = []
        self.errors: list[str] = []
        self.done = threading.Event()
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                signed = verify_signature(system.secret, self.headers[SIGNATURE_HEADER], body, system.now)
                self.send_response(200 if signed else 401)
                self.end_headers()
                if signed:
                    threading.Thread(target=system.work, args=(json.loads(body),), daemon=True).start()
                else:
                    system.errors.append("bad signature")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/tasks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def work(self, event: dict) -> None:
        try:
            task_id = event["data"]["task"]
            task = requests.get(f"{self.api}/rights-tasks/{task_id}", headers=self.headers, timeout=10).json()
            if task["action"] == "access":
                answer = {"outcome": "done", "data": {"orders": [{"id": "o-1", "total": "12.00"}]}}
            else:
                answer = {"outcome": "done", "carried_out_at": "2026-11-02T02:00:00Z"}
            response = requests.post(
                f"{self.api}/rights-tasks/{task_id}/result", json=answer, headers=self.headers, timeout=10
            )
            self.answers.append(response.json())
        except Exception as exc:  # noqa: BLE001  (reported to the test thread)
            self.errors.append(repr(exc))
        finally:
            self.done.set()

    def __enter__(self) -> FakeSystem:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live_app(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    app = make_live_app(tmp_path / "rights-e2e", WEBHOOK_ALLOW_PRIVATE_HOSTS=True, MAIL_TRANSPORT="memory")
    yield app
    dispose(app)


def test_an_access_request_is_answered_by_a_system_over_http(live_app):
    clock = live_app.extensions["clock"]
    tenant = make_tenant(live_app)
    with LiveServer(live_app) as server, FakeSystem() as system:
        live_app.config["BASE_URL"] = server.url
        api = server.url + "/api/v1"
        client = live_app.test_client()
        headers = bearer_headers(client, tenant)
        person = requests.put(f"{api}/subjects/u-1", json={"email": "li.lei@example.cn"}, headers=headers,
                              timeout=10)  # fmt: skip
        assert person.status_code == 201, person.text
        registered = requests.post(
            f"{api}/data-systems",
            json={
                "name": "Orders",
                "owner": "Shop team",
                "categories": ["property"],
                "webhook_url": system.url,
            },
            headers=headers,
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        system.api, system.headers = api, headers
        system.secret, system.now = registered.json()["secret"], int(clock.now().timestamp())
        created = requests.post(
            f"{api}/rights-requests",
            json={"subject": "u-1", "type": "access", "identity_verified_by": "company", "language": "en"},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "awaiting_systems"
        (task,) = created.json()["tasks"]
        assert (task["system_name"], task["status"]) == ("Orders", "open")

        with live_app.app_context(), unit_of_work():
            assert deliver_due(clock.now())["delivered"] == 1
        assert system.done.wait(ARRIVAL_TIMEOUT), "the system never answered"
        assert system.errors == []
        (answer,) = system.answers
        assert (answer["status"], answer["result"]) == ("done", {"orders": [{"id": "o-1", "total": "12.00"}]})

        final = requests.get(
            f"{api}/rights-requests/{created.json()['id']}", headers=headers, timeout=10
        ).json()
        assert final["status"] == "completed"
        assert [t["status"] for t in final["tasks"]] == ["done"]
        assert [e["action"] for e in final["timeline"]][-4:] == [
            "task_answered", "systems_done", "package", "complete",
        ]  # fmt: skip
        with live_app.app_context():
            org = db.session.scalars(select(Organization).where(Organization.slug == tenant.slug)).one()
            (reply,) = mails(db, org, "rights.completed")
        assert reply.to == "li.lei@example.cn"
        assert "has been carried out" in reply.text
        link = re.search(r"http://127\.0\.0\.1:[0-9]+/rights/packages/\S+", reply.text).group(0)
        fetched = requests.get(link, timeout=10)
        assert (fetched.status_code, fetched.headers["Content-Type"]) == (200, "application/zip")
        with zipfile.ZipFile(io.BytesIO(fetched.content)) as package:
            orders = json.loads(package.read("systems/orders.json"))
        assert "o-1" in json.dumps(orders)


def test_a_deletion_is_carried_out_by_a_system_over_http_then_here(live_app):
    clock = live_app.extensions["clock"]
    tenant = make_tenant(live_app)
    with LiveServer(live_app) as server, FakeSystem() as system:
        live_app.config["BASE_URL"] = server.url
        api = server.url + "/api/v1"
        headers = bearer_headers(live_app.test_client(), tenant)
        assert requests.put(f"{api}/subjects/u-1", json={"email": "li.lei@example.cn"}, headers=headers,
                            timeout=10).status_code == 201  # fmt: skip
        registered = requests.post(
            f"{api}/data-systems",
            json={"name": "Orders", "owner": "Shop team", "categories": ["basic"], "webhook_url": system.url},
            headers=headers,
            timeout=10,
        ).json()
        system.api, system.headers = api, headers
        system.secret, system.now = registered["secret"], int(clock.now().timestamp())
        created = requests.post(
            f"{api}/rights-requests",
            json={"subject": "u-1", "type": "cancellation", "identity_verified_by": "company"},
            headers=headers,
            timeout=10,
        ).json()
        assert created["status"] == "awaiting_systems"
        with live_app.app_context(), unit_of_work():
            assert deliver_due(clock.now())["delivered"] == 1
        assert system.done.wait(ARRIVAL_TIMEOUT), "the system never answered"
        assert system.errors == []
        final = requests.get(f"{api}/rights-requests/{created['id']}", headers=headers, timeout=10).json()
        assert final["status"] == "completed"
        assert final["subject"].startswith("psn_")  # the request's minimal record names a pseudonym
        assert [e["action"] for e in final["timeline"]][-3:] == ["systems_done", "erase_here", "complete"]
        gone = requests.get(f"{api}/subjects/u-1", headers=headers, timeout=10)
        assert gone.status_code == 404
        with live_app.app_context():
            org = db.session.scalars(select(Organization).where(Organization.slug == tenant.slug)).one()
            (reply,) = mails(db, org, "rights.completed")
        assert reply.to == "li.lei@example.cn" and "仅保留法律要求保留的内容" in reply.text
