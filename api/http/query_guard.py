"""One rule for query strings: a parameter the operation does not declare is refused with
422, on every route of the API (search always did; the others silently ignored typos like
`?stauts=`). Operations that take the raw request read their query string themselves."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api.http.deps import RoleCheck, authenticate

_allowed: dict[int, frozenset[str]] = {}
_needs_token: dict[int, bool] = {}


def _authenticates(dependant: Dependant) -> bool:
    return (
        dependant.call is authenticate
        or isinstance(dependant.call, RoleCheck)
        or any(_authenticates(sub) for sub in dependant.dependencies)
    )


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of an operation and of all its dependencies (a query model's
    fields count one by one)."""
    names: set[str] = set()
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        fields = getattr(annotation, "model_fields", None)
        names |= {f.alias or n for n, f in fields.items()} if fields else {param.alias}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    key = id(route)
    if key not in _allowed:
        _allowed[key] = frozenset(_query_names(route.dependant))
    return _allowed[key]


async def refuse_unknown_query_parameters(request: Request) -> None:
    # async: no I/O here, and FastAPI would hand a plain `def` to the thread pool on every
    # request of the app (it is an app-wide dependency), costing more than the check itself.
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    if not route.include_in_schema or route.dependant.request_param_name:
        return  # the console's pages, and operations that read their query string themselves
        # (search refuses unknown parameters on its own; a provider's webhook sends its own)
    if id(route) not in _needs_token:
        _needs_token[id(route)] = _authenticates(route.dependant)
    if _needs_token[id(route)] and "authorization" not in request.headers:
        return  # the route's authentication answers 401 first
    unknown = sorted(set(request.query_params) - declared_query_parameters(route))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                    "input": request.query_params[name],
                }
                for name in unknown
            ]
        )
