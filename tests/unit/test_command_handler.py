"""A command route's planned handler (`api.http.command_handler`) answers every request exactly
as FastAPI's own handler does: the same status, headers and body, and the same values handed
to the endpoint, on every command route of the API, for callers of every role and for what
goes wrong (no token, the wrong role, a malformed or missing body, an unknown query
parameter, a malformed If-Match, a path value its pattern refuses). The endpoints run against
stand-in services (no I/O): what is compared is what reaches them and what comes back."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from api.http import command_route, dispatch
from api.http.auth import Principal, TokenVerifier, issue_token
from api.http.command_handler import is_json_content_type
from api.http.command_route import CommandRoute
from api.http.errors import install_error_handlers
from api.http.query_guard import refuse_unknown_query_parameters
from api.http.routers import API_ROUTERS, product_images, reviews
from api.http.routers import auth as auth_routes
from application.event_store import CommandResult

SECRET = "unit-secret-that-is-long-enough-for-hs256-hs384-and-even-hs512!!"
RESULT = CommandResult(UUID(int=7), version=3, position=17)


class Stand:
    """Any service, container or reader: every attribute is another stand-in, every call
    answers a command's result."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Stand()

    def __call__(self, *args: Any, **kwargs: Any) -> CommandResult:
        return RESULT


def _commands() -> list[CommandRoute]:
    return [
        route
        for router in API_ROUTERS
        for route in router.routes
        if isinstance(route, CommandRoute) and route.threaded
    ]


def _app() -> FastAPI:
    app = FastAPI(dependencies=[Depends(refuse_unknown_query_parameters)])
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    app.state.verifier = TokenVerifier(SECRET)
    app.state.container = Stand()
    list(dispatch.walk_order(app.router))  # FastAPI builds each route's handler here
    return app


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[FastAPI, FastAPI, list[str]]]:
    """FastAPI's handlers, and the planned ones (with the routes that got a plan)."""
    with pytest.MonkeyPatch.context() as patch:
        for module in (auth_routes, reviews, product_images):
            for name in ("account_system", "catalog_media"):
                if hasattr(module, name):
                    patch.setattr(module, name, lambda container: Stand())
        planned: list[str] = []
        original = command_route.command_handler

        def recording(route: Any, fallback: Any) -> Any:
            handler = original(route, fallback)
            if handler is not None:
                planned.append(route.path)
            return handler

        patch.setattr(command_route, "command_handler", lambda route, fallback: None)
        fastapis = _app()
        patch.setattr(command_route, "command_handler", recording)
        yield fastapis, _app(), planned


def _normal(value: Any) -> Any:
    """What an endpoint was given, comparable across two apps."""
    if isinstance(value, Request | Response | Stand):
        return type(value).__name__
    if isinstance(value, BaseModel):
        return type(value).__name__, value.model_dump()
    if isinstance(value, Principal):
        return value
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every endpoint the routes hand to the thread pool, with its arguments."""
    seen: list[Any] = []
    original = command_route.run_in_threadpool

    async def recording(func: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((func.__name__, args, {k: _normal(v) for k, v in kwargs.items()}))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(command_route, "run_in_threadpool", recording)
    return seen


def _path(route: APIRoute, bad: bool = False) -> str:
    """The route's path with a value for each parameter its type takes (or, `bad`, the first
    one replaced by a value no pattern takes)."""
    kinds = {f.name: f.field_info.annotation for f in route.dependant.path_params}
    path = "/api/v1" + route.path
    for n, name in enumerate(re.findall(r"{(\w+)(?::\w+)?}", path)):
        kind = kinds.get(name)
        value = str(uuid.UUID(int=n + 1)) if kind is UUID else "7" if kind is int else "ECO-1"
        if bad and n == 0:
            value = "n%C3%A3o%20vale%21"
        path = re.sub(r"{" + name + r"(?::\w+)?}", value, path, count=1)
    return path


def _token(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, f'{role}-1', role, 600)}"}  # type: ignore[arg-type]


JSON = {"Content-Type": "application/json"}
CASES: list[tuple[str, str | None, dict[str, str], bytes | None, str]] = [
    # (name, role, extra headers, body, query string)
    ("no token", None, JSON, b"{}", ""),
    ("customer", "customer", JSON, b"{}", ""),
    ("auditor", "auditor", JSON, b"{}", ""),
    ("admin", "admin", JSON, b"{}", ""),
    ("a receipt", "admin", JSON, b'{"quantity": 2, "reference": "NF-1"}', ""),
    ("a customer's quantity", "customer", JSON, b'{"quantity": 2}', ""),
    ("malformed JSON", "admin", JSON, b'{"quantity": ', ""),
    ("no body", "admin", {}, None, ""),
    ("not JSON", "admin", {"Content-Type": "text/plain"}, b'{"quantity": 2}', ""),
    ("no content type", "customer", {}, b'{"quantity": 2}', ""),
    ("unknown query parameter", "admin", JSON, b'{"quantity": 2}', "stauts=1"),
    ("malformed If-Match", "admin", {**JSON, "If-Match": "abc"}, b'{"quantity": 2}', ""),
    ("If-Match", "admin", {**JSON, "If-Match": 'W/"4"'}, b'{"quantity": 2}', ""),
]


def test_every_command_route_of_the_api_gets_a_plan(apps):
    _, _, planned = apps
    commands = _commands()
    assert len(commands) > 50
    assert sorted(planned) == sorted("/api/v1" + route.path for route in commands)


@pytest.mark.parametrize("route", _commands(), ids=lambda r: f"{sorted(r.methods)[0]} {r.path}")
def test_a_command_answers_as_under_fastapis_handler(route, apps, calls):
    fastapis, planned, _ = apps
    with (
        TestClient(fastapis, raise_server_exceptions=False) as a,
        TestClient(planned, raise_server_exceptions=False) as b,
    ):
        for bad in (False, True) if route.dependant.path_params else (False,):
            path = _path(route, bad)
            for name, role, headers, body, query in CASES:
                method = sorted(route.methods)[0]
                url = f"{path}?{query}" if query else path
                sent = {**headers, **(_token(role) if role else {})}
                calls.clear()
                expected = a.request(method, url, headers=sent, content=body)
                reached = list(calls)
                calls.clear()
                answer = b.request(method, url, headers=sent, content=body)
                case = f"{name} ({'bad path' if bad else 'path'}): {expected.text[:200]}"
                assert answer.status_code == expected.status_code, case
                assert answer.headers.items() == expected.headers.items(), case
                assert answer.content == expected.content, case
                assert calls == reached, case


def test_a_receipt_reaches_its_endpoint_and_answers_its_model(apps, calls):
    _, planned, _ = apps
    with TestClient(planned) as client:
        answer = client.post(
            "/api/v1/stock-items/ECO-1/receipts",
            json={"quantity": 2},
            headers={**_token("admin"), "If-Match": '"2"'},
        )
    assert answer.status_code == 200
    assert answer.json() == {"sku": "ECO-1", "version": 3, "consistency_token": "17"}
    assert answer.headers["etag"] == '"3"'
    (name, _, values), *_ = calls
    assert name == "receive_stock"
    assert values["expected_version"] == 2
    assert values["body"] == ("ReceiptCreate", {"quantity": 2, "reference": ""})
    assert values["_"] == Principal("admin-1", "admin")


def test_the_openapi_document_is_the_same(apps):
    fastapis, planned, _ = apps
    assert planned.openapi() == fastapis.openapi()


@pytest.mark.parametrize(
    ("content_type", "json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("application/problem+json", True),
        ("application/jsonx", False),
        ("text/json", False),
        ("application", False),
        ("multipart/form-data; boundary=x", False),
    ],
)
def test_a_content_type_is_json_as_fastapi_judges_it(content_type, json):
    assert is_json_content_type(content_type) is json
    assert is_json_content_type(content_type) is json  # remembered


def test_routes_with_other_shapes_keep_fastapis_handler():
    def with_yield() -> Iterator[int]:
        yield 1

    def command(n: int = Depends(with_yield)) -> dict[str, int]:
        return {"n": n}

    route = CommandRoute("/x", command, methods=["POST"])
    assert route.threaded
    assert command_route.command_handler(route, route.get_route_handler()) is None
