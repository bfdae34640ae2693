"""A precise OpenAPI document: every operation lists the errors it can answer, each as an
RFC 9457 problem (`application/problem+json`, schema `Problem`), who may call it
(`x-roles`), and on POST the `Idempotency-Key` header. What an operation can answer is read
from the route itself: its auth dependencies, parameters, body and headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from api.http.auth import ROLES
from api.http.deps import (
    CONSISTENCY_POSITION_PATTERN,
    IF_MATCH_PATTERN,
    RoleCheck,
    authenticate,
    if_match,
)
from api.http.errors import KINDS, PROBLEM_JSON, problem_type
from api.http.idempotency import KEY_PATTERN
from api.http.ratelimit import route_group
from api.http.schemas import Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
DESCRIPTIONS = {
    400: "A malformed If-Match or X-Consistency-Token header",
    401: "No bearer token, or one that is not valid",
    403: "The token's role may not do this",
    404: "Unknown, or not yours",
    409: "A business rule or a version conflict (If-Match), or a request with this "
    "Idempotency-Key still in progress",
    413: "The body is larger than the limit",
    415: "The body is not JSON",
    422: "Invalid input, or an Idempotency-Key used before for another request",
    429: "Too many requests from this client; see Retry-After",
    503: "Not ready: the read model is behind X-Consistency-Token, or a dependency is down; "
    "see Retry-After",
}
HEADER_PATTERNS = {
    "if-match": IF_MATCH_PATTERN,
    "x-consistency-token": CONSISTENCY_POSITION_PATTERN,
}
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Repeat a POST safely: the same key and body give the first response "
    "again (for 24 h); the same key with another body is 422.",
    "schema": {"type": "string", "pattern": KEY_PATTERN.pattern, "maxLength": 255},
}


@dataclass(frozen=True)
class RouteFacts:
    authenticated: bool
    roles: tuple[str, ...]
    has_path_params: bool
    has_inputs: bool
    has_body: bool
    reads_if_match: bool
    waits_for_consistency: bool


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def route_facts(route: Any) -> RouteFacts:
    dependant: Dependant = route.dependant
    calls = list(_calls(dependant))
    role_checks = [c for c in calls if isinstance(c, RoleCheck)]
    roles = tuple(r for r in ROLES if all(r in c.roles for c in role_checks))
    headers = {p.alias.lower() for p in _all_params(dependant, "header_params")}
    return RouteFacts(
        authenticated=authenticate in calls or bool(role_checks),
        roles=roles,
        has_path_params=bool(_all_params(dependant, "path_params")),
        has_inputs=any(
            _all_params(dependant, kind)
            for kind in ("path_params", "query_params", "header_params", "body_params")
        ),
        has_body=bool(_all_params(dependant, "body_params")),
        reads_if_match=if_match in calls,
        waits_for_consistency="x-consistency-token" in headers,
    )


def _all_params(dependant: Dependant, kind: str) -> list[Any]:
    found = list(getattr(dependant, kind))
    for dependency in dependant.dependencies:
        found += _all_params(dependency, kind)
    return found


def error_statuses(method: str, path: str, facts: RouteFacts) -> set[int]:
    command = method in ("POST", "PUT", "PATCH", "DELETE")
    statuses: set[int] = set()
    if facts.authenticated:
        statuses.add(401)
    if facts.authenticated and set(facts.roles) != set(ROLES):
        statuses.add(403)
    if facts.has_path_params:
        statuses.add(404)
    if command:
        statuses.add(409)
    if facts.has_inputs or method == "POST":
        statuses.add(422)
    if facts.reads_if_match or facts.waits_for_consistency:
        statuses.add(422)  # a malformed If-Match or X-Consistency-Token
    if facts.has_body or command:
        statuses |= {413, 415}
    if route_group(method, path) is not None:
        statuses.add(429)
    if facts.waits_for_consistency or method == "POST":
        statuses.add(503)
    return statuses


RETRY_AFTER = {
    "description": "seconds to wait before trying again",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
ETAG = {
    "description": 'the aggregate\'s new version, e.g. "3": send it back as If-Match',
    "schema": {"type": "string"},
}


def problem(description: str) -> dict[str, Any]:
    """An error answer a route documents beside the ones derived from it (`responses=`)."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _problem_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    described = (existing or {}).get("description") or DESCRIPTIONS[status]
    response: dict[str, Any] = {
        "description": described,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {**RETRY_AFTER, "required": True}}
    elif status == 503:
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def describe_operation(operation: dict[str, Any], method: str, path: str, route: Any) -> None:
    facts = route_facts(route)
    responses = operation.setdefault("responses", {})
    if method in ("POST", "PUT", "PATCH", "DELETE") and path.startswith("/api/v1/"):
        for status, response in responses.items():
            if status.startswith("2"):
                response.setdefault("headers", {})["ETag"] = ETAG
    for status in sorted(error_statuses(method, path, facts)):
        responses[str(status)] = _problem_response(status, responses.get(str(status)))
    operation["x-roles"] = list(facts.roles) if facts.authenticated else []
    for parameter in operation.get("parameters", []):
        pattern = HEADER_PATTERNS.get(parameter["name"].lower())
        if parameter.get("in") == "header" and pattern:
            title = parameter.get("schema", {}).get("title", parameter["name"])
            parameter["schema"] = {"type": "string", "title": title, "pattern": pattern}
    if method == "POST" and path.startswith("/api/v1/"):
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(IDEMPOTENCY_PARAMETER)


def _drop_unused_validation_schemas(schema: dict[str, Any]) -> None:
    text = str(schema.get("paths", {}))
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            components.pop(name, None)


def _describe_readiness(schema: dict[str, Any]) -> None:
    """/ready answers its checks as JSON both when ready (200) and when not (503)."""
    for prefix in ("", "/api/v1"):
        operation = schema["paths"].get(f"{prefix}/ready", {}).get("get")
        if operation is None:
            continue
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
        operation["responses"]["200"]["content"] = body
        operation["responses"]["503"] = {"description": "a dependency is down", "content": body}
    schema["components"]["schemas"]["Readiness"] = {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "checks": {
                "type": "object",
                "additionalProperties": {"type": "object"},
                "description": "for operators only (admin, metrics token, operations listener)",
            },
        },
    }


API = "/api/v1"
_CART = {"cart_id": "$response.body#/cart_id"}
_SAME_CART = {"cart_id": "$request.path.cart_id"}
_LINE = {**_SAME_CART, "sku": "$request.body#/sku"}
_ORDER = {"order_id": "$response.body#/order_id"}
_SAME_ORDER = {"order_id": "$request.path.order_id"}
_SKU = {"sku": "$response.body#/sku"}
# (method, path, status) of a response -> links to what a client does next with its ids.
# Links whose source or target operation the app does not have are left out.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", f"{API}/carts", "201"): {
        "GetCart": ("get", f"{API}/carts/{{cart_id}}", _CART),
        "AddItem": ("post", f"{API}/carts/{{cart_id}}/items", _CART),
    },
    ("post", f"{API}/carts/{{cart_id}}/items", "200"): {
        "ChangeQuantity": ("put", f"{API}/carts/{{cart_id}}/items/{{sku}}", _LINE),
        "RemoveItem": ("delete", f"{API}/carts/{{cart_id}}/items/{{sku}}", _LINE),
        "Checkout": ("post", f"{API}/carts/{{cart_id}}/checkout", _SAME_CART),
        "GetCart": ("get", f"{API}/carts/{{cart_id}}", _SAME_CART),
    },
    ("post", f"{API}/carts/{{cart_id}}/checkout", "202"): {
        "GetOrder": ("get", f"{API}/orders/{{order_id}}", _ORDER),
        "CancelOrder": ("post", f"{API}/orders/{{order_id}}/cancel", _ORDER),
        "ShipOrder": ("post", f"{API}/orders/{{order_id}}/ship", _ORDER),
        "AuditOrder": (
            "get",
            f"{API}/audit/aggregates/{{aggregate_id}}/events",
            {"aggregate_id": "$response.body#/order_id"},
        ),
    },
    ("get", f"{API}/orders/{{order_id}}", "200"): {
        "GetPayment": (
            "get",
            f"{API}/payments/{{payment_id}}",
            {"payment_id": "$response.body#/payment/payment_id"},
        ),
        "CancelOrder": ("post", f"{API}/orders/{{order_id}}/cancel", _SAME_ORDER),
    },
    ("post", f"{API}/stock-items", "201"): {
        "GetStockItem": ("get", f"{API}/stock-items/{{sku}}", _SKU),
        "Receive": ("post", f"{API}/stock-items/{{sku}}/receipts", _SKU),
        "Adjust": ("post", f"{API}/stock-items/{{sku}}/adjustments", _SKU),
        "Reprice": ("put", f"{API}/stock-items/{{sku}}/price", _SKU),
    },
}


def _pointer(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _add_links(schema: dict[str, Any]) -> None:
    """OpenAPI links between operations (what the stateful fuzzer follows, and clients can
    read): a new cart's id leads to its items and checkout, an order to its payment..."""
    paths = schema["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        for name, (target_method, target, parameters) in links.items():
            if target_method in paths.get(target, {}):
                response.setdefault("links", {})[name] = {
                    "operationRef": _pointer(target, target_method),
                    "parameters": parameters,
                }


def describe(schema: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema()
    problem_schema["properties"]["type"]["description"] = "The kind of error, a stable URI: " + (
        ", ".join(sorted(problem_type(kind) for kind in KINDS))
    )
    schema["components"]["schemas"]["Problem"] = problem_schema
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path_item = schema["paths"].get(route.path_format, {})
        for method in sorted(route.methods or ()):
            operation = path_item.get(method.lower())
            if operation is not None:
                describe_operation(operation, method, route.path_format or "", route)
    _describe_readiness(schema)
    _add_links(schema)
    _drop_unused_validation_schemas(schema)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and /api/v1/openapi.json) serve the described document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(generate(), app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
