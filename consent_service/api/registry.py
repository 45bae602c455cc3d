"""The ``operation`` decorator every API route is declared with.

One declaration gives the route its scope check, the caller's organization, body and query
parsing with marshmallow, a rate limit per client, one commit for a write with its entry in the
audit trail, serialization,
and its entry in the OpenAPI document (scope, clause, schemas, answers).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_limiter.util import get_remote_address
from marshmallow import Schema, ValidationError

from consent_service.changes import Changes, collecting
from consent_service.commands import AuditRecorder
from consent_service.database import read_only_transaction
from consent_service.errors import DomainError, InvalidInput
from consent_service.extensions import db, limiter
from consent_service.oauth.guard import authenticate, bearer_token, require
from consent_service.organizations.models import Organization
from consent_service.services import lookup
from consent_service.tokens import hash_secret
from consent_service.unit_of_work import unit_of_work


class MalformedBody(DomainError):
    """The request body is not a JSON object."""

    code = "malformed_json"
    status = 400


class PayloadTooLarge(DomainError):
    """A batch over the limit."""

    code = "payload_too_large"
    status = 413


@dataclass
class Reply:
    """A handler's answer when the status or headers differ from the operation's default."""

    data: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: ``data`` is already in the response schema's shape (a hot path skips the dump).
    is_serialized: bool = False


@dataclass
class Operation:
    """What the OpenAPI document says about one route, and how the API treats it."""

    endpoint: str
    rule: str
    method: str
    scope: str
    summary: str
    tag: str
    description: str
    clause: str | None
    body: Schema | None
    query: Schema | None
    response: Schema | None
    status: int
    errors: tuple[int, ...]
    #: Other success statuses, with the same answer (201 when created, 200 when not).
    other_statuses: tuple[int, ...] = ()
    #: Takes an ``Idempotency-Key`` header.
    idempotent: bool = False
    #: Only reads (every GET; a POST that says so): no write lock on SQLite.
    read_only: bool = False
    #: Checks the bearer token in its own query on its own connection (the decision hot path):
    #: the session is not touched, and rate limits count per token.
    checks_token_itself: bool = False
    #: What a success answers: JSON, or a document of its own (``application/pdf``) that the
    #: handler returns as a ``Response``.
    media_type: str = "application/json"
    #: The module that declares it, and the view the blueprint routes to.
    module: str = ""
    view: Callable[..., Response] | None = None


OPERATIONS: list[Operation] = []
#: The operations by Flask endpoint (``api.<handler name>``).
BY_ENDPOINT: dict[str, Operation] = {}
#: The blueprint every operation is routed on.
BLUEPRINT = "api"


def blueprint(*modules: object) -> Blueprint:
    """A blueprint of ``/api/v1`` with the operations the given modules declare, in the order
    they were declared (one per application: ``create_app`` names the modules)."""
    names = {getattr(module, "__name__", module) for module in modules}
    bp = Blueprint(BLUEPRINT, __name__, url_prefix="/api/v1")
    bp.before_request(_read_only_requests_take_no_write_lock)
    for op in OPERATIONS:
        if op.module in names:
            bp.add_url_rule(op.rule, op.endpoint, op.view, methods=[op.method])
    return bp


def operations() -> list[Operation]:
    """The operations the current application routes."""
    routed = set(current_app.view_functions)
    return [op for op in OPERATIONS if f"{BLUEPRINT}.{op.endpoint}" in routed]


def rate_limit_key() -> str:
    """Rate limits count per client (``client:<id>``) for an authenticated caller, per
    address (``addr:<ip>``) otherwise."""
    token = bearer_token()
    if token is not None:
        op = BY_ENDPOINT.get(request.endpoint)
        if op is not None and op.checks_token_itself:
            # It checks its token in its own single query: counted per token, so the limit
            # costs no database round trip there.
            return "token:" + hash_secret(token)[:32]
        try:
            return "client:" + authenticate().client_id
        except DomainError:
            pass
    return "addr:" + (get_remote_address() or "unknown")


def _read_only_requests_take_no_write_lock() -> None:
    """Read-only operations begin their transaction without SQLite's write lock; those that
    read on their own connection do not touch the session at all."""
    op = BY_ENDPOINT.get(request.endpoint)
    read_only = op.read_only and not op.checks_token_itself if op else request.method in ("GET", "HEAD")
    if read_only:
        read_only_transaction(db.session)


#: Answers every operation can give, beyond its own.
COMMON_ERRORS = (400, 401, 403, 404, 422, 429, 503)


class NestingTooDeep(DomainError):
    """The request body nests objects or arrays deeper than the API reads."""

    code = "nesting_too_deep"
    status = 400


#: The deepest a request body may nest objects and arrays (every documented body needs 4).
MAX_JSON_DEPTH = 32
#: A JSON escape that can only write a lone surrogate when unpaired (``\ud800``-``\udfff``).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _text_errors(value: Any, where: str, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Where ``value`` (a path, query or JSON value, keys included) holds text no database
    stores: a NUL character (PostgreSQL refuses it) or a lone UTF-16 surrogate (not Unicode
    text at all: neither database can encode it)."""
    if isinstance(value, str):
        if "\x00" in value:
            errors[where or "_schema"] = ["must not contain the NUL character (\\u0000)"]
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                errors[where or "_schema"] = ["must be Unicode text (a lone surrogate is not)"]
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            _text_errors(key, inner, errors)
            _text_errors(item, inner, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _text_errors(item, f"{where}.{index}" if where else str(index), errors)
    return errors


def _refuse_bad_text(value: Any, what: str) -> None:
    errors = _text_errors(value, "", {})
    if errors:
        raise InvalidInput(f"the {what} is invalid", errors)


def _depth(value: Any) -> int:
    """How deep ``value`` nests objects and arrays (walked without recursion)."""
    if not isinstance(value, dict | list):
        return 0
    deepest, stack = 1, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
        if depth <= MAX_JSON_DEPTH:
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _parse_body(schema: Schema) -> Any:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # the parser's own limit, far past ours
        raise NestingTooDeep(f"the request body nests deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise MalformedBody("the request body must be a JSON object (Content-Type: application/json)")
    if _depth(data) > MAX_JSON_DEPTH:
        raise NestingTooDeep(f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    # UTF-8 JSON text can only carry a NUL as the escape \u0000 (a raw control character is
    # not valid JSON), and a lone surrogate only as an escape \ud800-\udfff (invalid UTF-8 is
    # refused by the parser), so a body with none of these needs no walk through its thousand
    # items. (A body in UTF-16 or UTF-32, which JSON parsing also accepts, has NUL bytes: it
    # is walked.)
    raw = request.get_data(cache=True)
    if b"\\u0000" in raw or b"\x00" in raw or _SURROGATE_ESCAPE.search(raw):
        _refuse_bad_text(data, "request body")
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput("the request body is invalid", exc.messages) from exc


#: What each query schema loads from an empty query string (its defaults), computed once.
_EMPTY_QUERIES: dict[int, dict] = {}


def _parse_query(schema: Schema) -> Any:
    args = request.args.to_dict()
    if not args:
        if id(schema) not in _EMPTY_QUERIES:
            try:
                _EMPTY_QUERIES[id(schema)] = schema.load({})
            except ValidationError as exc:  # a query that needs a parameter
                raise InvalidInput("the query string is invalid", exc.messages) from exc
        return dict(_EMPTY_QUERIES[id(schema)])
    _refuse_bad_text(args, "query string")
    try:
        return schema.load(args)
    except ValidationError as exc:
        raise InvalidInput("the query string is invalid", exc.messages) from exc


def operation(
    rule: str,
    method: str = "GET",
    *,
    scope: str,
    summary: str,
    tag: str,
    clause: str | None = None,
    body: Schema | None = None,
    query: Schema | None = None,
    response: Schema | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    other_statuses: tuple[int, ...] = (),
    idempotent: bool = False,
    read_only: bool = False,
    checks_token_itself: bool = False,
    limit_setting: str = "API_RATE_LIMIT",
    media_type: str = "application/json",
) -> Callable:
    """Declare an API route. The handler gets the caller's organization first, then the path
    parameters, then ``body`` and ``query`` if schemas are given.

    With ``checks_token_itself`` the handler gets ``None`` for the organization and checks the
    bearer token and scope in its own query (the decision hot path). A handler whose answer is
    not JSON names its ``media_type`` and returns a ``Response``. ``limit_setting`` names
    the configuration key of the route's rate limit; an empty setting means no limit (and
    none of the limiter's cost). Every GET is ``read_only``; a POST that only reads says so.
    """

    def decorator(fn: Callable) -> Callable:
        op = Operation(
            endpoint=fn.__name__,
            rule=rule,
            method=method,
            scope=scope,
            summary=summary,
            tag=tag,
            description=inspect.getdoc(fn) or "",
            clause=clause,
            body=body,
            query=query,
            response=response,
            status=status,
            errors=errors,
            other_statuses=other_statuses,
            idempotent=idempotent,
            read_only=read_only or method in ("GET", "HEAD"),
            checks_token_itself=checks_token_itself,
            media_type=media_type,
            module=fn.__module__,
        )

        @wraps(fn)
        def view(**path: Any) -> Response:
            org = None
            if not checks_token_itself:
                org = db.session.get(Organization, require(scope).org_id)
            _refuse_bad_text(path, "path")
            kwargs: dict[str, Any] = {}
            if body is not None:
                kwargs["body"] = _parse_body(body)
            if query is not None:
                kwargs["query"] = _parse_query(query)
            if op.read_only:
                return _respond(op, fn(org, **path, **kwargs))
            with unit_of_work(), collecting() as changes:
                result = fn(org, **path, **kwargs)
                if org is not None:
                    _record(op, org, path, result, changes)
            return _respond(op, result)

        limited = limiter.shared_limit(
            lambda: current_app.config[limit_setting], scope=limit_setting.lower(), key_func=rate_limit_key
        )(view)

        @wraps(fn)
        def dispatch(**path: Any) -> Response:
            if current_app.config.get(limit_setting):
                return limited(**path)
            return view(**path)

        op.view = dispatch
        OPERATIONS.append(op)
        BY_ENDPOINT[f"{BLUEPRINT}.{fn.__name__}"] = op
        return dispatch

    return decorator


def _record(op: Operation, org: Organization, path: dict[str, Any], result: Any, changes: Changes) -> None:
    """The write's entry in the organization's audit trail (PIPL 54): the client, the route
    pattern, the status, the path parameters (identifiers; the body is not kept) and what the
    services noted as changed, before and after."""
    status = (result.status if isinstance(result, Reply) else None) or op.status
    target = " ".join(f"{name}:{value}" for name, value in path.items()) or None
    lookup(AuditRecorder)(
        org.id,
        "client",
        authenticate().client_id,
        f"api:{op.method} {op.rule}",
        target,
        str(status),
        changes.details() or None,
    )


def _respond(op: Operation, result: Any) -> Response:
    if isinstance(result, Response):  # a document of its own (op.media_type)
        return result
    reply = result if isinstance(result, Reply) else Reply(result)
    status = reply.status or op.status
    if status == 204:
        response = Response(status=204)
    else:
        data = reply.data
        if op.response is not None and not reply.is_serialized:
            data = op.response.dump(reply.data)
        response = jsonify(data)
        response.status_code = status
    response.headers.update(reply.headers)
    return response
