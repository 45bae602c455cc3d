"""Schemathesis against ``/api/v1/openapi.json``: no input gives a 5xx, and every answer matches
the document (a documented status code and content type, a body valid against its schema).

In-process on the WSGI application (no network), bounded (``MAX_EXAMPLES`` per operation for
the fuzzing phase, plus schemathesis' explicit examples and coverage phases) and
deterministic (a fixed seed, ``derandomize``, no example database).

The calls go to an application of its own (``live``), because they commit for real: on a
SQLite file, or, when ``DATABASE_URL`` names PostgreSQL, in a schema of its own in that
database (PostgreSQL refuses inputs SQLite takes, such as NUL characters). Its organization
has purposes, a published policy and a draft, a person with a consent history, and webhooks
with deliveries; half the time a path parameter, or a body field naming a person, purpose or
policy version, is drawn from those (schemathesis dictionaries), so that generated calls reach
real data and not only 404s. The token holds every scope. Generated writes seldom satisfy
every cross-field rule, so ``test_successful_calls_match_the_document`` also sends one valid
call per operation and checks its answer against the document the same way.

Why the schema is loaded when the module is imported, from an application without a
database, and not with ``schemathesis.pytest.from_fixture``: the lazy loader of schemathesis
4.32 sets ``Function._nodeid``, which pytest 9.2 no longer has (AttributeError). The document
does not depend on data, and ``call_and_validate(app=...)`` sends each case to ``live``.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, make_url, select, text

from consent_service import create_app
from consent_service.api.openapi import build_spec
from consent_service.config import normalize_database_url
from consent_service.extensions import db
from consent_service.receipts.models import ConsentReceipt
from consent_service.rights.models import DataSystem, RightsRequest, RightsTask
from consent_service.webhooks.delivery import deliver_due
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint
from consent_service.webhooks.outcomes import Outcome
from tests.api.live import bearer_headers, dispose, make_live_app, make_tenant
from tests.conftest import IS_POSTGRES

#: Examples per operation: a few in CI; ``scripts/fuzz_api.sh`` asks for many more.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
SEED = 20261102

#: Ids the seeded webhooks and deliveries are given, so that the dictionaries can name them.
WEBHOOK_ID = "wh_schemathesis_kept"
DOOMED_WEBHOOK_ID = "wh_schemathesis_doomed"
DELIVERY_IDS = ["whd_schemathesis_1", "whd_schemathesis_2", "whd_schemathesis_3"]
#: The id the seeded person's first receipt is given.
RECEIPT_ID = "rcpt_schemathesis"

#: Rights requests seeded in ``live``, by the ids they are given: those the fuzzing draws on, and
#: those only the successful calls move through their life (in progress, GDPR, awaiting a code).
FUZZED_REQUESTS = ["rr_fuzz_work", "rr_fuzz_gdpr", "rr_fuzz_code"]
KEPT_REQUESTS = ["rr_ok_work", "rr_ok_gdpr", "rr_ok_code"]

#: Data systems seeded in ``live``: one every call may read, one the fuzzed retirement takes, one
#: the successful retirement takes; and two tasks of the first (one fuzzed, one answered once).
SYSTEM_ID = "sys_schemathesis_kept"
DOOMED_SYSTEM_ID = "sys_schemathesis_doomed"
OK_DOOMED_SYSTEM_ID = "sys_schemathesis_ok_doomed"
FUZZED_TASK = "rt_schemathesis_fuzz"
KEPT_TASK = "rt_schemathesis_ok"

#: Path parameter values that exist in ``live``.
DICTIONARIES = {
    "external_id": ["u-1"],
    "purpose_code": ["marketing", "face", "orders"],
    "code": ["marketing", "face", "orders"],
    "version": ["v1", "v2"],
    "webhook_id": [WEBHOOK_ID],
    "doomed_webhook_id": [DOOMED_WEBHOOK_ID],
    "delivery_id": DELIVERY_IDS,
    "request_id": FUZZED_REQUESTS,
    "system_id": [SYSTEM_ID],
    "doomed_system_id": [DOOMED_SYSTEM_ID],
    "task_id": [FUZZED_TASK],
    "receipt_id": [RECEIPT_ID],
}

#: Body fields that name the same things (``dictionary`` of ``DICTIONARIES``).
BODY_VALUES = {
    "purpose": "purpose_code",
    "purposes[*]": "purpose_code",
    "policy_version": "version",
    "items[*].subject": "external_id",
    "items[*].purpose": "purpose_code",
}

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def _document() -> dict:
    """The OpenAPI document, from an application that never touches its database."""
    app = create_app(
        {
            "TESTING": True,
            "ENV": "testing",
            "SECRET_KEY": "openapi-only",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "BASE_URL": "http://127.0.0.1",
            "WEBHOOK_DISPATCH": "off",
        }
    )
    with app.app_context():
        document = build_spec()
        db.engine.dispose()
    return document


DOCUMENT = _document()


def _schema(operation_id: str):
    """The document limited to one operation, with path parameters drawn half the time from
    ``DICTIONARIES``. ``delete_webhook`` gets a webhook of its own: deleting the one the other
    operations read would leave them only 404s; ``retire_data_system`` likewise."""
    names = {name: name for name in DICTIONARIES if not name.startswith("doomed")}
    if operation_id == "delete_webhook":
        names["webhook_id"] = "doomed_webhook_id"
    if operation_id == "retire_data_system":
        names["system_id"] = "doomed_system_id"
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "dictionaries": {name: {"values": values} for name, values in DICTIONARIES.items()},
            "parameters": {
                **{
                    f"path.{name}": {"dictionary": dictionary, "probability": 0.5}
                    for name, dictionary in names.items()
                },
                **{
                    f"body.{pointer}": {"dictionary": dictionary, "probability": 0.5}
                    for pointer, dictionary in BODY_VALUES.items()
                },
            },
        }
    )
    return schemathesis.openapi.from_dict(DOCUMENT, config=config).include(operation_id=operation_id)


@pytest.fixture(scope="module")
def database():
    """Settings for ``live``'s database: none for SQLite (``make_live_app``'s file); on
    PostgreSQL a fresh schema, first on the connections' search path, dropped at the end."""
    if not IS_POSTGRES:
        yield {}
        return
    name = f"schemathesis_{os.getpid()}"
    url = make_url(normalize_database_url(os.environ["DATABASE_URL"]))
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {name}"))
    own = url.update_query_dict({"options": f"-csearch_path={name}"})
    yield {"SQLALCHEMY_DATABASE_URI": own.render_as_string(hide_password=False)}
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="module")
def live(tmp_path_factory, database):
    """The application the cases are sent to, with data, and a bearer header holding every scope."""
    app = make_live_app(
        tmp_path_factory.mktemp("schemathesis"),
        # Thousands of calls in a few seconds: the rate limit is not what is tested here.
        API_RATE_LIMIT="1000000 per minute",
        # The seeded webhooks post to this machine.
        WEBHOOK_ALLOW_PRIVATE_HOSTS=True,
        **database,
    )
    client = app.test_client()
    headers = bearer_headers(client, make_tenant(app))

    def call(method: str, path: str, expected: int, **kwargs) -> dict:
        response = client.open("/api/v1" + path, method=method, headers=headers, **kwargs)
        assert response.status_code == expected, response.get_data(as_text=True)
        return response.json

    for url in ("http://127.0.0.1:9/kept", "http://127.0.0.1:9/doomed"):
        call("POST", "/webhooks", 201, json={"url": url, "events": ["consent.granted", "consent.withdrawn"]})
    call("PUT", "/subjects/u-1", 201, json={"email": "li.lei@example.cn", "birth_date": "1990-05-01"})
    for act in (
        {"purpose": "marketing", "action": "grant", "consent_type": "explicit"},
        {"purpose": "marketing", "action": "withdraw"},
        {"purpose": "face", "action": "grant", "consent_type": "separate"},
    ):
        call("POST", "/subjects/u-1/consents", 201, json=act)
    call("POST", "/policies", 201, json={"label": "v2", "purposes": ["marketing"]})
    for body in (
        {"identity_verified_by": "company"},
        {"identity_verified_by": "company", "regime": "GDPR"},
        {},
    ):
        for _ in range(2):
            call("POST", "/rights-requests", 201, json={"subject": "u-1", "type": "access", **body})
    with app.app_context():
        requests = db.session.scalars(select(RightsRequest).order_by(RightsRequest.id)).all()
        names = [name for pair in zip(FUZZED_REQUESTS, KEPT_REQUESTS, strict=True) for name in pair]
        for request, public_id in zip(requests, names, strict=True):
            request.public_id = public_id
        db.session.scalars(select(ConsentReceipt).order_by(ConsentReceipt.id)).first().receipt_id = RECEIPT_ID
        db.session.commit()
    app.extensions["clock"].advance(minutes=2)  # a new code may be asked for
    with app.app_context():
        # One failed attempt each (nothing listens on port 9: no request leaves the process).
        deliver_due(app.extensions["clock"].now(), sender=lambda *args: Outcome.answered(503))
        kept, doomed = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
        kept.public_id, doomed.public_id = WEBHOOK_ID, DOOMED_WEBHOOK_ID
        deliveries = db.session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == kept.id).order_by(WebhookDelivery.id)
        ).all()
        assert len(deliveries) == len(DELIVERY_IDS)
        for delivery, public_id in zip(deliveries, DELIVERY_IDS, strict=True):
            delivery.public_id = public_id
        db.session.commit()
        db.session.remove()
    system = {"name": "CRM", "owner": "Data team", "categories": ["basic", "contacts"]}
    kept_system = call("POST", "/data-systems", 201, json=system)["id"]
    for _ in range(2):  # each opens a task of the CRM
        body = {"subject": "u-1", "type": "deletion", "identity_verified_by": "company"}
        call("POST", "/rights-requests", 201, json=body)
    doomed = [
        call("POST", "/data-systems", 201, json=system | {"name": name})["id"] for name in ("Old", "Older")
    ]
    with app.app_context():
        renamed = dict(
            zip([kept_system, *doomed], [SYSTEM_ID, DOOMED_SYSTEM_ID, OK_DOOMED_SYSTEM_ID], strict=True)
        )
        for row in db.session.scalars(select(DataSystem)):
            row.public_id = renamed[row.public_id]
        tasks = db.session.scalars(select(RightsTask).order_by(RightsTask.id)).all()
        for task, public_id in zip(tasks, (FUZZED_TASK, KEPT_TASK), strict=True):
            task.public_id = public_id
        db.session.commit()
        db.session.remove()
    yield app, headers
    dispose(app)


PURPOSE = {
    "code": "analytics",
    "name_zh": "分析",
    "name_en": "Analytics",
    "description_zh": "使用分析",
    "description_en": "Usage analytics",
    "processing_method_zh": "汇总统计",
    "processing_method_en": "Aggregated statistics",
    "function_kind": "extended",
    "legal_basis": "consent",
    "consent_requirement": "explicit",
    "pi_categories": ["basic"],
    "retention_days": 180,
}
SECTIONS = {
    key: {"zh": "内容", "en": "Content"}
    for key in ("rights", "refusal_consequences", "security_measures", "complaints")
}

#: Calls that succeed, in order: generated inputs rarely get every cross-field rule right, so
#: without these the answers of successful writes would never be checked against the document.
SUCCESSFUL_CALLS = [
    # Before any request opens a task of it.
    ("retire_data_system", {"system_id": OK_DOOMED_SYSTEM_ID}, {}, 204),
    ("create_purpose", {}, {"body": PURPOSE}, 201),
    ("change_purpose", {"code": "analytics"}, {"body": {"description_en": "Product analytics"}}, 200),
    (
        "create_policy",
        {},
        {
            "body": {
                "label": "v3",
                "text_zh": "正文",
                "text_en": "Text",
                "sections": SECTIONS,
                "purposes": ["analytics", "marketing", "face", "orders"],
            }
        },
        201,
    ),
    ("publish_policy", {"version": "v3"}, {}, 200),
    ("put_subject", {"external_id": "u-2"}, {"body": {"phone": "+86 138 0000 0000"}}, 201),
    ("put_subject", {"external_id": "u-2"}, {"body": {"email": "han.meimei@example.cn"}}, 200),
    (
        "record_consent",
        {"external_id": "u-2"},
        {
            "body": {
                "purpose": "analytics",
                "action": "grant",
                "consent_type": "explicit",
                "policy_version": "v3",
            },
            "headers": {"Idempotency-Key": "u-2-analytics"},
        },
        201,
    ),
    (
        "record_consent",
        {"external_id": "u-2"},
        {
            "body": {
                "purpose": "analytics",
                "action": "grant",
                "consent_type": "explicit",
                "policy_version": "v3",
            },
            "headers": {"Idempotency-Key": "u-2-analytics"},
        },
        201,
    ),
    ("record_consent", {"external_id": "u-2"}, {"body": {"purpose": "analytics", "action": "withdraw"}}, 201),
    ("record_consent", {"external_id": "u-2"}, {"body": {"purpose": "analytics", "action": "withdraw"}}, 200),
    ("record_consent", {"external_id": "u-2"}, {"body": {"purpose": "face", "action": "refuse"}}, 201),
    (
        "record_batch",
        {},
        {
            "body": {
                "items": [
                    {"subject": "u-2", "purpose": "marketing", "action": "grant", "consent_type": "explicit"},
                    {"subject": "u-1", "purposes": ["marketing"], "action": "withdraw"},
                ]
            }
        },
        201,
    ),
    ("list_states", {"external_id": "u-2"}, {}, 200),
    ("history", {"external_id": "u-2"}, {"query": {"limit": 1}}, 200),
    ("decision", {"external_id": "u-2", "purpose_code": "marketing"}, {}, 200),
    (
        "decisions",
        {},
        {
            "body": {
                "items": [
                    {"subject": "u-2", "purpose": "marketing"},
                    {"subject": "nobody", "purpose": "face"},
                ]
            }
        },
        200,
    ),
    ("dashboard_link", {"external_id": "u-2"}, {}, 201),
    ("create_webhook", {}, {"body": {"url": "https://hooks.example.cn/consent", "events": ["*"]}}, 201),
    ("list_webhooks", {}, {}, 200),
    ("list_deliveries", {"webhook_id": WEBHOOK_ID}, {"query": {"limit": 1}}, 200),
    ("redeliver", {"webhook_id": WEBHOOK_ID, "delivery_id": DELIVERY_IDS[0]}, {}, 202),
    ("get_purpose", {"code": "analytics"}, {}, 200),
    ("list_purposes", {}, {}, 200),
    ("list_policies", {}, {}, 200),
    ("get_subject", {"external_id": "u-2"}, {}, 200),
    ("get_receipt", {"receipt_id": RECEIPT_ID}, {}, 200),
    ("get_receipt_record", {"receipt_id": RECEIPT_ID}, {}, 200),
    ("get_subject_record", {"external_id": "u-2"}, {}, 200),
    ("get_processing_record", {}, {}, 200),
    ("get_policy_archive", {}, {}, 200),
    ("get_compliance_report", {}, {"query": {"from": "2026-01-01", "to": "2026-12-31"}}, 200),
    (
        "create_rights_request",
        {},
        {
            "body": {
                "subject": "u-2",
                "type": "deletion",
                "identity_verified_by": "company",
                "details": "my old phone",
            }
        },
        201,
    ),
    ("list_rights_requests", {}, {"query": {"status": "in_progress", "limit": 5}}, 200),
    ("get_rights_request", {"request_id": "rr_ok_work"}, {}, 200),
    ("get_request_record", {"request_id": "rr_ok_work"}, {}, 200),
    ("assign_rights_request", {"request_id": "rr_ok_work"}, {"body": {"officer": "li@shop.example"}}, 200),
    ("pause_rights_request", {"request_id": "rr_ok_work"}, {"body": {"reason": "which account?"}}, 200),
    ("resume_rights_request", {"request_id": "rr_ok_work"}, {"body": {"note": "answered"}}, 200),
    ("complete_rights_request", {"request_id": "rr_ok_work"}, {"body": {}}, 200),
    ("extend_rights_request", {"request_id": "rr_ok_gdpr"}, {"body": {"reason": "eleven systems"}}, 200),
    (
        "refuse_rights_request",
        {"request_id": "rr_ok_gdpr"},
        {
            "body": {
                "ground": "bad_faith",
                "explanation": "the tenth copy this week",
                "complaint_channel": "x@y.cn",
            }
        },
        200,
    ),
    ("resend_rights_code", {"request_id": "rr_ok_code"}, {}, 200),
    ("verify_rights_request", {"request_id": "rr_ok_code"}, {"body": {"by": "company"}}, 200),
    ("withdraw_rights_request", {"request_id": "rr_ok_code"}, {"body": {}}, 200),
    (
        "register_data_system",
        {},
        {
            "body": {
                "name": "Mail tool",
                "owner": "Marketing",
                "categories": ["contacts"],
                "webhook_url": "https://hooks.example.cn/tasks",
            }
        },
        201,
    ),  # fmt: skip
    ("list_data_systems", {}, {}, 200),
    ("get_data_system", {"system_id": SYSTEM_ID}, {}, 200),
    ("list_rights_tasks", {}, {"query": {"status": "open", "limit": 5}}, 200),
    ("get_rights_task", {"task_id": KEPT_TASK}, {}, 200),
    (
        "answer_rights_task",
        {"task_id": KEPT_TASK},
        {"body": {"outcome": "done", "carried_out_at": "2026-11-02T02:00:00Z", "note": "erased"}},
        200,
    ),
]


def test_successful_calls_match_the_document(live):
    app, headers = live
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    for operation_id, path_parameters, parts, status in SUCCESSFUL_CALLS:
        body = {"body": parts["body"]} if "body" in parts else {}
        case = schema.find_operation_by_id(operation_id).Case(
            path_parameters=path_parameters, query=parts.get("query"), **body
        )
        response = case.call_and_validate(headers=headers | parts.get("headers", {}), checks=CHECKS, app=app)
        assert response.status_code == status, (operation_id, response.text)
    assert {operation_id for operation_id, *_ in SUCCESSFUL_CALLS} == set(OPERATION_IDS) - {"delete_webhook"}


def _operation_test(operation_id: str):
    """The test of one operation, as ``test_<operationId>``.

    One module-level test per operation, rather than one ``@schema.parametrize()`` test: with
    pytest 9.2 every item schemathesis makes for a test gets that test's node id, so the items
    would be indistinguishable in reports, ``-k`` and ``--lf``.
    """

    @_schema(operation_id).parametrize()
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def test(case, live):
        app, headers = live
        case.call_and_validate(headers=headers, checks=CHECKS, app=app)

    test.__name__ = test.__qualname__ = f"test_{operation_id}"
    return test


OPERATION_IDS = [op["operationId"] for item in DOCUMENT["paths"].values() for op in item.values()]
for _operation_id in OPERATION_IDS:
    globals()[f"test_{_operation_id}"] = _operation_test(_operation_id)
