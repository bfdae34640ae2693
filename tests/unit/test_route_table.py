"""The edge's route table remembers recent paths' routes, giving the same answers as its
walk, within a bound."""

from __future__ import annotations

from fastapi import FastAPI

from api.http import routes
from api.http.routes import RouteTable


def _app() -> FastAPI:
    app = FastAPI()
    app.get("/items/{sku}")(lambda sku: sku)
    app.post("/items/{sku}/receipts")(lambda sku: sku)
    app.get("/items/search")(lambda: None)  # declared after {sku}: {sku} wins, as routing
    return app


def test_a_remembered_match_is_the_walks_answer():
    table = RouteTable(_app())
    for _ in range(2):  # asked, then remembered
        item = table.match("GET", "/items/ECO-1")
        assert item is not None
        assert item.template == "/items/{sku}"
        assert table.match("GET", "/items/search") == item
        receipts = table.match("GET", "/items/ECO-1/receipts")  # only POST: the 405's route
        assert receipts is not None
        assert receipts.template == "/items/{sku}/receipts"
        assert table.match("GET", "/nowhere") is None


def test_the_remembered_paths_are_bounded(monkeypatch):
    monkeypatch.setattr(routes, "RECENT_PATHS", 10)
    table = RouteTable(_app())
    for n in range(25):
        assert table.match("GET", f"/items/ECO-{n}") is not None
    assert len(table._recent) <= 10
