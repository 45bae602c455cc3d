"""The OpenAPI 3 document, built from the operations and their marshmallow schemas, and a
reference page rendered from it by the service itself (no scripts, no CDN)."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, render_template
from marshmallow import Schema, fields

from consent_service.api.registry import COMMON_ERRORS, operations
from consent_service.errors import DomainError
from consent_service.oauth.scopes import SCOPE_DESCRIPTIONS
from consent_service.problems import TITLES


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    detail = fields.String(required=True)
    errors = fields.Raw(metadata={"description": "Per-field (or per-item) errors"})
    required_scope = fields.String()
    details = fields.Raw()
    allowed = fields.List(
        fields.String(), metadata={"description": "The actions the object's status allows (a 409 transition)"}
    )
    request_status = fields.String(metadata={"description": "The status the refused action met"})


def _name_resolver(schema: Any) -> str | None:
    """Named components for schema classes; modified instances (only/exclude) are inlined."""
    if not isinstance(schema, type) and (schema.only or schema.exclude):
        return None
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def _path(rule: str) -> tuple[str, list[str]]:
    names = re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule)
    return "/api/v1" + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule), names


def problem_codes() -> list[tuple[str, int, str]]:
    """Every domain error code with its status and description, for the reference page."""
    found: dict[str, tuple[int, str]] = {}
    stack = [DomainError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        found.setdefault(cls.code, (cls.status, (cls.__doc__ or "").strip().split("\n")[0]))
    return sorted((code, status, doc) for code, (status, doc) in found.items())


def build_spec() -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``/api/v1``."""
    base = current_app.config["BASE_URL"].rstrip("/")
    spec = APISpec(
        title="consent_service API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_name_resolver)],
        info={
            "description": (
                "Record consents, ask for decisions and hear about withdrawals (PIPL, GB/T 35273-2020). "
                "Every call needs an OAuth 2.0 bearer token from the client credentials grant; "
                "each operation names its scope (x-scope) and the clause it serves (x-clause). "
                "Errors are RFC 9457 problem documents."
            )
        },
        servers=[{"url": base}],
    )
    spec.components.security_scheme(
        "oauth2",
        {
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": f"{base}/oauth/token", "scopes": SCOPE_DESCRIPTIONS}},
        },
    )
    spec.components.schema("Problem", schema=ProblemSchema)
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations():
        path, names = _path(op.rule)
        parameters: list[dict[str, Any]] = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for n in names
        ]
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if op.idempotent:
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                }
            )
        responses: dict[str, Any] = {}
        if op.status == 204:
            responses["204"] = {"description": "Done"}
        else:
            if op.media_type != "application/json":
                content = {op.media_type: {"schema": {"type": "string", "format": "binary"}}}
            else:
                content = {"application/json": {"schema": op.response}} if op.response is not None else {}
            responses[str(op.status)] = {"description": op.summary, "content": content}
            for other in op.other_statuses:
                responses[str(other)] = {"description": op.summary, "content": content}
        for status in sorted({*COMMON_ERRORS, *op.errors}):
            responses[str(status)] = {
                "description": TITLES.get(status, "Error"),
                "content": {"application/problem+json": {"schema": problem_ref}},
            }
        operation = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "description": op.description,
            "tags": [op.tag],
            "security": [{"oauth2": [op.scope]}],
            "x-scope": op.scope,
            "parameters": parameters,
            "responses": responses,
        }
        if op.clause:
            operation["x-clause"] = op.clause
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": op.body}},
            }
        paths.setdefault(path, {})[op.method.lower()] = operation
    for path, items in paths.items():
        spec.path(path=path, operations=items)
    return spec.to_dict()


def openapi_document():
    """The OpenAPI 3 document (public)."""
    return jsonify(_document())


def _document() -> dict[str, Any]:
    """The document, built once per application."""
    if "openapi_document" not in current_app.extensions:
        current_app.extensions["openapi_document"] = build_spec()
    return current_app.extensions["openapi_document"]


def reference():
    """The API reference page, rendered from the OpenAPI document."""
    document = _document()
    operations = []
    for path, items in document["paths"].items():
        for method, op in items.items():
            operations.append({"path": path, "method": method.upper(), **op})
    return render_template(
        "api_reference.html",
        lang="en",
        document=document,
        operations=operations,
        schemas=document["components"]["schemas"],
        problems=problem_codes(),
        scopes=SCOPE_DESCRIPTIONS,
        base_url=current_app.config["BASE_URL"].rstrip("/"),
    )


def add_routes(bp: Blueprint) -> None:
    """Serve the document and the reference page (both public) beside the operations."""
    bp.add_url_rule("/openapi.json", "openapi_document", openapi_document)
    bp.add_url_rule("/docs", "reference", reference)
