"""FastAPI's router going straight to the route the edge matched (`api.http.dispatch`) answers
every request exactly as its own walk does: the same status, headers and body, the same path
parameters, scope and `url_for`, for routes of included (and nested) routers, top-level
routes, mounts, 404, 405 with its `Allow`, redirect_slashes and odd path values. It reaches
into FastAPI's internals: when an upgrade changes them, this fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http import dispatch
from api.http.routes import ROUTE_KEY, RouteTable


def _seen(request: Request, **values: Any) -> dict[str, Any]:
    """What a route sees of its request: the values FastAPI gave it and the scope's keys."""
    route = request.scope.get("route")
    return {
        **values,
        "path_params": request.path_params,
        "route": getattr(route, "path", None),
        "endpoint": request.scope["endpoint"].__name__,
        "router": type(request.scope.get("router")).__name__,
        "url_for": str(request.url_for("item", sku="A B")),
    }


async def included_dependency(request: Request) -> None:
    request.state.included = True  # the inclusion's own dependencies run


def _routers() -> tuple[APIRouter, APIRouter]:
    items = APIRouter(prefix="/items", tags=["items"])

    @items.get("/search")
    async def search(request: Request, q: str = "") -> dict[str, Any]:
        return _seen(request, q=q)

    @items.get("/{sku}", name="item")
    async def item(request: Request, sku: str) -> dict[str, Any]:
        return _seen(request, sku=sku, included=getattr(request.state, "included", False))

    @items.put("/{sku}")  # same path, another method: a GET-only path's 405 lists both
    def replace(request: Request, sku: str, body: dict[str, int]) -> dict[str, Any]:
        return _seen(request, sku=sku, body=body)

    @items.post("/{sku}/receipts", status_code=201)
    def receive(
        request: Request, sku: str, body: dict[str, int], if_match: Annotated[str, Header()] = ""
    ) -> dict[str, Any]:
        return _seen(request, sku=sku, body=body, if_match=if_match)

    files = APIRouter(prefix="/files")

    @files.get("/{number:int}/{rest:path}")
    async def file(request: Request, number: int, rest: str) -> dict[str, Any]:
        return _seen(request, number=number, rest=rest)

    nested = APIRouter(prefix="/v1")
    nested.include_router(items, dependencies=[Depends(included_dependency)])
    nested.include_router(files)
    return nested, items


def _app(tmp_path: Path, *, direct: bool) -> FastAPI:
    app = FastAPI()
    nested, _ = _routers()
    app.include_router(nested, prefix="/api")

    @app.post("/top/{n:int}")
    def top(request: Request, n: int) -> dict[str, Any]:
        return _seen(request, n=n)

    app.add_route("/plain", lambda request: PlainTextResponse("plain"), methods=["GET"])
    (tmp_path / "hello.txt").write_text("hello")
    app.router.routes.append(Mount("/static", StaticFiles(directory=tmp_path), name="static"))
    table = RouteTable(app)
    app.add_middleware(_Edge, table=table)
    if direct:
        assert dispatch.install(app, table.target)
    return app


class _Edge:
    """The edge's part in this: the route matched once and kept in the scope."""

    def __init__(self, app: ASGIApp, table: RouteTable):
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[ROUTE_KEY] = self.table.match(scope["method"], scope["path"])
        await self.app(scope, receive, send)


# (method, path, body or None, whether the edge's route takes it past the walk)
REQUESTS = [
    ("GET", "/api/v1/items/ECO-1", None, True),
    ("GET", "/api/v1/items/search?q=caf%C3%A9", None, True),  # declared first: not {sku}
    ("GET", "/api/v1/items/caf%C3%A9%20com%20leite", None, True),  # odd values, decoded
    ("GET", "/api/v1/items/%E2%80%AEevil", None, True),
    ("GET", "/api/v1/items/a%2Fb", None, False),  # the path is decoded: a/b, no route
    ("PUT", "/api/v1/items/ECO-1", {"n": 1}, True),
    ("POST", "/api/v1/items/ECO-1/receipts", {"quantity": 2}, True),
    ("GET", "/api/v1/files/42/a/b/c.txt", None, True),  # convertors: int and path
    ("GET", "/api/v1/files/x/a", None, False),  # not an int: no route, 404
    ("POST", "/top/7", None, True),
    ("POST", "/top/007", None, True),
    ("GET", "/plain", None, True),
    ("GET", "/static/hello.txt", None, True),
    ("GET", "/static/missing.txt", None, True),
    ("DELETE", "/api/v1/items/ECO-1", None, False),  # 405, Allow: GET, PUT
    ("GET", "/api/v1/items/ECO-1/receipts", None, False),  # 405, Allow: POST
    ("POST", "/plain", None, False),  # 405 of a plain route
    ("GET", "/api/v1/items/ECO-1/", None, False),  # redirect_slashes
    ("GET", "/nowhere", None, False),  # 404
    ("HEAD", "/api/v1/items/ECO-1", None, False),  # FastAPI routes do not take HEAD: 405
]


@pytest.fixture
def clients(tmp_path: Path) -> tuple[TestClient, TestClient]:
    walk = TestClient(_app(tmp_path, direct=False), follow_redirects=False)
    direct = TestClient(_app(tmp_path, direct=True), follow_redirects=False)
    return walk, direct


@pytest.mark.parametrize(("method", "path", "body", "_"), REQUESTS)
def test_the_direct_route_answers_as_the_walk(clients, method, path, body, _):
    walk, direct = clients
    expected = walk.request(method, path, json=body, headers={"If-Match": '"3"'})
    answer = direct.request(method, path, json=body, headers={"If-Match": '"3"'})
    assert answer.status_code == expected.status_code
    assert answer.headers.items() == expected.headers.items()
    assert answer.content == expected.content


def test_odd_values_reach_the_route_as_the_walk_gives_them(clients):
    _, direct = clients
    seen = direct.get("/api/v1/items/caf%C3%A9%20com%20leite").json()
    assert seen["sku"] == "café com leite"
    assert seen["path_params"] == {"sku": "café com leite"}
    assert seen["route"] == "/items/{sku}"  # the route as declared, as the walk leaves it
    assert seen["endpoint"] == "item"
    assert seen["router"] == "APIRouter"
    assert seen["included"] is True
    assert seen["url_for"] == "http://testserver/api/v1/items/A B"
    files = direct.get("/api/v1/files/42/a/b/c.txt").json()
    assert (files["number"], files["rest"]) == (42, "a/b/c.txt")


def test_the_routes_the_edge_matched_skip_the_walk(tmp_path, monkeypatch):
    app = _app(tmp_path, direct=True)
    walked: list[str] = []
    direct = app.router.middleware_stack
    assert isinstance(direct, dispatch.DirectDispatch)
    walk = direct.walk

    async def counting_walk(scope: Scope, receive: Receive, send: Send) -> None:
        walked.append(scope["path"])
        await walk(scope, receive, send)

    monkeypatch.setattr(direct, "walk", counting_walk)
    client = TestClient(app, follow_redirects=False)
    for method, path, body, skips in REQUESTS:
        walked.clear()
        client.request(method, path, json=body)
        assert (walked == []) == skips, (method, path, walked)


def test_a_route_added_after_the_first_request_is_reached_by_the_walk(tmp_path):
    app = _app(tmp_path, direct=True)
    client = TestClient(app)
    assert client.get("/late").status_code == 404  # the table is built now, without it
    app.add_api_route("/late", lambda: {"late": True})
    assert client.get("/late").json() == {"late": True}


def test_the_router_keeps_its_walk_when_it_has_middleware_of_its_own():
    app = FastAPI()
    app.router.middleware_stack = PlainTextResponse("wrapped")  # something not `app`
    assert not dispatch.install(app, lambda scope: None)
    assert isinstance(app.router.middleware_stack, PlainTextResponse)
