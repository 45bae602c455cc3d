"""Rights requests over the API: a request's whole life through its routes, problem documents
for what is refused, filters and cursors, and what each answer says of the deadline."""

from __future__ import annotations

import pytest

from tests.api_support import assert_problem
from tests.rights.conftest import mailed_code, mails


def post(client, api, path: str, body: dict | None = None):
    return client.post(f"/api/v1/rights-requests{path}", json=body or {}, headers=api.headers)


@pytest.fixture
def person(client, api):
    response = client.put("/api/v1/subjects/u-1", json={"email": "person@example.cn"}, headers=api.headers)
    assert response.status_code == 201
    return "u-1"


def test_a_vouched_request_lives_through_the_api(client, api, person, db):
    asked = {
        "subject": person,
        "type": "deletion",
        "identity_verified_by": "company",
        "details": "the old address",
    }
    created = post(client, api, "", asked)
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["status"], body["type"], body["regime"]) == ("in_progress", "deletion", "PIPL")
    assert body["clauses"] == ["PIPL 47", "GB/T 8.3"]
    assert body["deadline"] | {"clock_started_at": None} == {
        "amount": 15,
        "unit": "working_days",
        "starts_at": "identity_verified",
        "clause": body["deadline"]["clause"],
        "clock_started_at": None,
        "due_at": "2026-11-23T15:59:59+00:00",
        "due_day": "2026-11-23",
        "provisional": False,
        "paused_days": 0,
        "extended": False,
        "warning": None,
    }
    assert body["details"] == "the old address"
    assert "pause" in body["allowed_actions"] and "verify" not in body["allowed_actions"]
    rid = body["id"]
    steps = [
        ("/assign", {"officer": "li@shop.example"}, "in_progress"),
        ("/pause", {"reason": "which address?"}, "awaiting_requester"),
        ("/resume", {"note": "the person answered"}, "in_progress"),
        ("/complete", {"note": "deleted from every system"}, "completed"),
    ]
    for path, payload, status in steps:
        response = post(client, api, f"/{rid}{path}", payload)
        assert response.status_code == 200, (path, response.json)
        assert response.json["status"] == status
    final = client.get(f"/api/v1/rights-requests/{rid}", headers=api.headers).json
    assert [e["action"] for e in final["timeline"]] == [
        "receive",
        "verify",
        "no_systems",  # no data system is registered: the officer carries it out
        "assign",
        "pause",
        "resume",
        "erase_here",  # the person's information is erased here once the systems have deleted
        "complete",
    ]
    assert final["timeline"][4]["note"] == "which address?"
    assert final["allowed_actions"] == []
    (reply,) = mails(db, api.org, "rights.completed")
    assert reply.to == "person@example.cn"  # read before the address was erased
    assert "仅保留法律要求保留的内容" in reply.text and "去标识化保存" in reply.text


def test_a_code_verifies_the_requester(client, api, person, db):
    created = post(client, api, "", {"subject": person, "type": "access"}).json
    assert created["status"] == "verifying_identity" and created["due_at"] is None
    wrong = post(
        client,
        api,
        f"/{created['id']}/verify",
        {"code": "000000" if mailed_code(db, api.org) != "000000" else "111111"},
    )
    body = assert_problem(wrong, 422, "code_invalid")
    assert body["details"] == {"attempts_left": 4}
    right = post(client, api, f"/{created['id']}/verify", {"code": mailed_code(db, api.org)})
    assert right.status_code == 200 and right.json["status"] == "in_progress"
    assert right.json["due_at"] == "2026-12-02T15:59:59+00:00"


def test_a_code_resent_too_soon_is_a_429_with_retry_after(client, api, person):
    created = post(client, api, "", {"subject": person, "type": "access"}).json
    response = post(client, api, f"/{created['id']}/resend-code")
    assert_problem(response, 429, "code_resend_too_soon")
    assert response.headers["Retry-After"] == "60"


def test_an_illegal_step_is_a_409_naming_the_allowed_ones(client, api, person):
    rid = post(
        client, api, "", {"subject": person, "type": "access", "identity_verified_by": "company"}
    ).json["id"]
    assert post(client, api, f"/{rid}/withdraw").status_code == 200
    body = assert_problem(post(client, api, f"/{rid}/pause", {"reason": "x"}), 409, "transition_not_allowed")
    assert (body["request_status"], body["allowed"]) == ("withdrawn_by_requester", [])
    rid = post(client, api, "", {"subject": person, "type": "access"}).json["id"]
    body = assert_problem(post(client, api, f"/{rid}/complete"), 409, "transition_not_allowed")
    assert body["allowed"] == ["send_code", "verify", "assign", "refuse", "withdraw", "expire_unverified"]


def test_a_refusal_without_its_ground_changes_nothing(client, api, person):
    rid = post(
        client, api, "", {"subject": person, "type": "access", "identity_verified_by": "company"}
    ).json["id"]
    body = assert_problem(post(client, api, f"/{rid}/refuse", {"explanation": "no"}), 422, "invalid_input")
    assert set(body["errors"]) == {"ground", "complaint_channel"}
    assert client.get(f"/api/v1/rights-requests/{rid}", headers=api.headers).json["status"] == "in_progress"
    reasons = {
        "ground": "legal_duty",
        "explanation": "Tax law keeps it.",
        "complaint_channel": "complaints@shop.example",
    }
    refused = post(client, api, f"/{rid}/refuse", reasons)
    assert refused.status_code == 200
    assert refused.json["refusal"] == {
        "ground": "legal_duty",
        "explanation": "Tax law keeps it.",
        "complaint_channel": "complaints@shop.example",
    }


def test_a_request_for_an_unknown_person_is_a_404(client, api):
    assert_problem(post(client, api, "", {"subject": "nobody", "type": "access"}), 404, "not_found")


def test_bad_input_is_a_422_per_field(client, api, person):
    body = assert_problem(
        post(client, api, "", {"subject": person, "type": "mind-reading"}), 422, "invalid_input"
    )
    assert "type" in body["errors"]


def test_an_api_client_cannot_claim_a_dashboard_session(client, api, person):
    """Only the company vouches over the API; the dashboard's own voucher is the person's session."""
    for channel in ("api", "dashboard"):
        asked = {"subject": person, "type": "access", "identity_verified_by": "dashboard", "channel": channel}
        body = assert_problem(post(client, api, "", asked), 422, "invalid_input")
        assert "identity_verified_by" in body["errors"]
    listing = client.get("/api/v1/rights-requests", headers=api.headers).json
    assert listing["requests"] == []


def test_the_queue_filters_and_pages(client, api, person, clock):
    ids = [
        post(client, api, "", {"subject": person, "type": t, "identity_verified_by": "company"}).json["id"]
        for t in ("access", "deletion", "copy")
    ]
    post(client, api, "", {"subject": person, "type": "access"})
    listing = client.get("/api/v1/rights-requests?status=in_progress", headers=api.headers).json
    # Soonest due first: the deletion (15 working days) before the 30-day ones.
    assert [r["id"] for r in listing["requests"]][0] == ids[1]
    assert {r["id"] for r in listing["requests"]} == set(ids)
    assert [
        r["type"]
        for r in client.get("/api/v1/rights-requests?type=copy", headers=api.headers).json["requests"]
    ] == ["copy"]
    first = client.get("/api/v1/rights-requests?limit=2", headers=api.headers).json
    assert len(first["requests"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"/api/v1/rights-requests?limit=2&cursor={first['next_cursor']}", headers=api.headers
    ).json
    assert len(rest["requests"]) == 2 and rest["next_cursor"] is None
    due = client.get(
        "/api/v1/rights-requests?due_before=2026-11-24T00:00:00%2B00:00", headers=api.headers
    ).json
    assert [r["id"] for r in due["requests"]] == [ids[1]]
    assert client.get("/api/v1/rights-requests?overdue=true", headers=api.headers).json["requests"] == []


def test_reading_needs_rights_read_and_working_needs_rights_write(client, make_caller, person, api):
    reader = make_caller(("rights:read",), org=api.org)
    response = client.post(
        "/api/v1/rights-requests", json={"subject": person, "type": "access"}, headers=reader.headers
    )
    assert_problem(response, 403, "insufficient_scope")
    assert client.get("/api/v1/rights-requests", headers=reader.headers).status_code == 200
