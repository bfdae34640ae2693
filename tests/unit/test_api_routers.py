"""The `/api/v1` routers as the app includes them: each listed once, so every operation
has one id in the OpenAPI document (a generated client breaks on duplicate ids)."""

from __future__ import annotations

from collections import Counter

from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id

from api.http.routers import API_ROUTERS


def test_every_router_of_the_api_is_included_once():
    counts = Counter(id(router) for router in API_ROUTERS)
    assert max(counts.values()) == 1


def test_no_two_operations_of_the_api_share_a_method_and_path_or_an_operation_id():
    routes = [r for router in API_ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    operations = Counter((method, route.path) for route in routes for method in route.methods)
    ids = Counter(generate_unique_id(route) for route in routes)
    assert [op for op, n in operations.items() if n > 1] == []
    assert [op for op, n in ids.items() if n > 1] == []
