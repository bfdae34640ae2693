"""A command route's request handler with its dependency plan worked out once, not per request.

FastAPI's `solve_dependencies` re-derives, on every request and at every level of the
dependency tree, what never changes after the route is built: whether each dependency is a
generator, a coroutine or a plain function (three classifications through `lru_cache`
lookups), its cache key (its OAuth scopes, whether it uses scopes, its scope), whether
overrides apply; it builds a `SolvedDependency` per level and reads the path, query, header
and cookie parameters of each level even when there are none, each field's aliases and
shape again. A stock receipt solves six dependants (the app's query guard, the service,
`RoleCheck` and its bearer scheme, `If-Match`): about a fifth of the command's time on the
event loop (py-spy, in process).

`CommandPlan` is that tree, classified once: what each level calls, with what cache key,
which parameters it reads and how. `command_handler` is FastAPI's `get_request_handler` for
the one shape a command route has (a JSON body or none, `async` dependencies without `yield`,
an `async` endpoint answering a model or a `Response`), doing the same steps in the same
order with the same FastAPI functions for what varies per request: reading and decoding the
body (errors included), validating each parameter (`_validate_value_with_model_field`), the
answer (`serialize_response`), the telemetry hooks. A route of any other shape, or an app
with dependency overrides, gets FastAPI's own handler (`plan_of` answers None; the handler
defers per request). `tests/unit/test_command_handler.py` compares the two on every command
route of the app."""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi._body_limit import get_body_limit_error
from fastapi._compat import ModelField, Undefined, field_annotation_is_sequence, lenient_issubclass
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.dependencies.utils import (
    _get_form_models,
    _get_multidict_value,
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    _request_param_model_to_args,
    _should_embed_body_fields,
    _validate_value_with_model_field,
    request_body_to_args,
)
from fastapi.exceptions import RequestValidationError
from fastapi.routing import _extract_endpoint_context, serialize_response
from fastapi.sse import EventSourceResponse
from fastapi.telemetry._api import (
    _NO_OPERATION,
    _get_request_telemetry,
    _operation,
    _validation_failed,
)
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import Request
from starlette.responses import Response

from api.http.middleware import PARSED_BODY_KEY

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class Param:
    """A path, query, header or cookie parameter: how `request_params_to_args` reads it."""

    field: ModelField
    model: Any  # a parameter model (its fields read one by one), or None
    aliases: list[tuple[str, str]]
    plain: bool  # one alias, not a sequence, not JSON: `received.get(alias)`
    loc: tuple[str, str]

    @classmethod
    def of(cls, field: ModelField) -> Param:
        model = _get_param_model(field)
        aliases = _get_param_aliases(field) if model is None else []
        plain = (
            model is None
            and len(aliases) == 1
            and not _is_json_field(field)
            and not field_annotation_is_sequence(field.field_info.annotation)
        )
        assert isinstance(field.field_info, params.Param)
        in_ = field.field_info.in_.value
        return cls(field, model, aliases, plain, (in_, aliases[0][1] if aliases else ""))

    def read(self, received: Any, values: dict[str, Any]) -> tuple[Any, list[Any]]:
        """`request_params_to_args`'s loop body for this field."""
        if self.model is not None:
            return _request_param_model_to_args(self.field, self.model, received)
        if self.plain:
            value = received.get(self.loc[1], None)
            if value is None:
                value = Undefined
            loc = self.loc
        else:
            _, alias = next((pair for pair in self.aliases if pair[1] in received), self.aliases[0])
            value = _get_multidict_value(self.field, received, alias=alias)
            loc = (self.loc[0], alias)
        return _validate_value_with_model_field(
            field=self.field, value=value, values=values, loc=loc
        )


def _read_params(
    fields: tuple[Param, ...], received: Any, values: dict[str, Any], errors: list[Any]
) -> None:
    """`request_params_to_args`, its values added to `values`, its errors to `errors`."""
    own: dict[str, Any] = {}
    for param in fields:
        value, found = param.read(received, own)
        if found:
            errors.extend(found)
        else:
            own[param.field.name] = value
    values.update(own)


@dataclass(frozen=True)
class Sub:
    """A dependency of a level: its own plan, what it calls, its key in the request's cache."""

    plan: CommandPlan
    call: Callable[..., Any]
    name: str | None
    cache_key: Any
    use_cache: bool


@dataclass(frozen=True)
class CommandPlan:
    """One level of a route's dependency tree, classified once."""

    subs: tuple[Sub, ...]
    path: tuple[Param, ...]
    query: tuple[Param, ...]
    header: tuple[Param, ...]
    cookie: tuple[Param, ...]
    body_fields: list[ModelField]
    single_body: ModelField | None  # one body model, not embedded: validated whole
    embed_body_fields: bool
    request_name: str | None
    connection_name: str | None
    response_name: str | None

    async def solve(
        self, request: Request, body: Any, response: Response, cache: dict[Any, Any]
    ) -> tuple[dict[str, Any], list[Any]]:
        """`solve_dependencies` for this level: the same calls, values and errors, in the
        same order."""
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for sub in self.subs:
            sub_values, sub_errors = await sub.plan.solve(request, body, response, cache)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            if sub.use_cache and sub.cache_key in cache:
                solved = cache[sub.cache_key]
            else:
                solved = await sub.call(**sub_values)
            if sub.name is not None:
                values[sub.name] = solved
            if sub.cache_key not in cache:
                cache[sub.cache_key] = solved
        found: list[Any] = []
        if self.path:
            _read_params(self.path, request.path_params, values, found)
        if self.query:
            _read_params(self.query, request.query_params, values, found)
        if self.header:
            _read_params(self.header, request.headers, values, found)
        if self.cookie:
            _read_params(self.cookie, request.cookies, values, found)
        errors += found
        if self.single_body is not None:
            value, body_errors = _validate_value_with_model_field(
                field=self.single_body, value=body, values={}, loc=("body",)
            )
            values[self.single_body.name] = value
            errors.extend(body_errors)
        elif self.body_fields:
            body_values, body_errors = await request_body_to_args(
                body_fields=self.body_fields,
                received_body=body,
                embed_body_fields=self.embed_body_fields,
            )
            values.update(body_values)
            errors.extend(body_errors)
        if self.connection_name:
            values[self.connection_name] = request
        if self.request_name:
            values[self.request_name] = request
        if self.response_name:
            values[self.response_name] = response
        return values, errors


def _plain_async(dependant: Dependant) -> bool:
    """A dependency the plan can call as FastAPI would: awaited, no `yield`, no scopes."""
    call = dependant.call
    return (
        call is not None
        and _is_coroutine_callable(call)
        and not _is_gen_callable(call)
        and not _is_async_gen_callable(call)
        and dependant.concurrency is None
    )


def plan_of(dependant: Dependant, embed_body_fields: bool) -> CommandPlan | None:
    """The plan of a dependency tree, or None when a level needs what only FastAPI's solver
    does (generators, thread-pool dependencies, background tasks, security scopes, a
    websocket)."""
    if (
        dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.websocket_param_name
    ):
        return None
    subs = []
    for sub in dependant.dependencies:
        if not _plain_async(sub):
            return None
        plan = plan_of(sub, embed_body_fields)
        if plan is None:
            return None
        assert sub.call is not None
        subs.append(Sub(plan, sub.call, sub.name, _get_cache_key(dependant=sub), sub.use_cache))
    body_fields = dependant.body_params
    single = (
        len(body_fields) == 1
        and not embed_body_fields
        and not _should_embed_body_fields(body_fields)
        and not _get_form_models(body_fields[0])
    )
    return CommandPlan(
        subs=tuple(subs),
        path=tuple(Param.of(f) for f in dependant.path_params),
        query=tuple(Param.of(f) for f in dependant.query_params),
        header=tuple(Param.of(f) for f in dependant.header_params),
        cookie=tuple(Param.of(f) for f in dependant.cookie_params),
        body_fields=body_fields,
        single_body=body_fields[0] if single else None,
        embed_body_fields=embed_body_fields,
        request_name=dependant.request_param_name,
        connection_name=dependant.http_connection_param_name,
        response_name=dependant.response_param_name,
    )


_JSON_TYPES: dict[str, bool] = {}


def is_json_content_type(value: str) -> bool:
    """FastAPI's test of a body's Content-Type (through `email.message`), remembered per
    value: a client sends the same one every time."""
    known = _JSON_TYPES.get(value)
    if known is None:
        message = email.message.Message()
        message["content-type"] = value
        subtype = message.get_content_subtype()
        known = message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        )
        if len(_JSON_TYPES) >= 256:
            _JSON_TYPES.clear()
        _JSON_TYPES[value] = known
    return known


def command_handler(route: Any, fallback: Handler) -> Handler | None:
    """FastAPI's request handler for `route` (an `APIRoute` or its context as included),
    with the dependency plan above; None when the route's shape is not a command's."""
    dependant: Dependant = route.dependant
    call = dependant.call
    body_field = route.body_field
    response_class = route.response_class
    actual_class = (
        response_class.value if isinstance(response_class, DefaultPlaceholder) else response_class
    )
    strict = route.strict_content_type
    strict_content_type = strict.value if isinstance(strict, DefaultPlaceholder) else strict
    if (
        call is None
        or not _plain_async(dependant)
        or (body_field is not None and isinstance(body_field.field_info, params.Form))
        or route.stream_item_field is not None
        or route.is_json_stream
        or lenient_issubclass(actual_class, EventSourceResponse)
    ):
        return None
    plan = plan_of(dependant, route._embed_body_fields)
    if plan is None:
        return None
    overrides = route.dependency_overrides_provider
    status_code = route.status_code
    response_field = route.response_field
    dump_json = response_field is not None and isinstance(response_class, DefaultPlaceholder)
    serialization = {
        "include": route.response_model_include,
        "exclude": route.response_model_exclude,
        "by_alias": route.response_model_by_alias,
        "exclude_unset": route.response_model_exclude_unset,
        "exclude_defaults": route.response_model_exclude_defaults,
        "exclude_none": route.response_model_exclude_none,
    }

    async def app(request: Request) -> Response:
        if overrides is not None and overrides.dependency_overrides:
            return await fallback(request)
        # FastAPI's request telemetry, read from the context once: `get_telemetry_data` and
        # each `_operation` would read it again (an OpenTelemetry context look-up each),
        # and it is set, or not, by FastAPI's telemetry layer before this handler runs.
        # Without a tracer each `_operation` is a no-op; with one, FastAPI's own runs.
        request_telemetry = _get_request_telemetry()
        telemetry_data = request_telemetry.data if request_telemetry is not None else None
        traced = request_telemetry is not None and request_telemetry.tracer is not None
        if telemetry_data is not None:
            telemetry_data.request = request
        endpoint_ctx = _extract_endpoint_context(call)
        if dependant.path:
            mount_path = request.scope.get("root_path", "").rstrip("/")
            endpoint_ctx["path"] = f"{request.method} {mount_path}{dependant.path}"
        body: Any = Undefined
        if body_field is not None:
            body = await _read_body(request, strict_content_type, endpoint_ctx)
        if telemetry_data is not None:
            telemetry_data.body = None if body is Undefined else body
        response = Response()
        del response.headers["content-length"]
        response.status_code = None  # type: ignore[assignment]  # as FastAPI's solver does
        with _operation(name="dependencies", function=call) if traced else _NO_OPERATION:
            values, errors = await plan.solve(request, body, response, {})
            if telemetry_data is not None:
                telemetry_data.values = values
                telemetry_data.errors = errors
        if errors:
            validation_error = RequestValidationError(
                errors, body=None if body is Undefined else body, endpoint_ctx=endpoint_ctx
            )
            _validation_failed(validation_error)
            raise validation_error
        with _operation(name="endpoint", function=call) if traced else _NO_OPERATION:
            raw_response = await call(**values)
        if isinstance(raw_response, Response):
            return raw_response
        response_args: dict[str, Any] = {"background": None}
        current_status_code = status_code if status_code else response.status_code
        if current_status_code is not None:
            response_args["status_code"] = current_status_code
        if response.status_code:
            response_args["status_code"] = response.status_code
        with _operation(name="serialization", function=call) if traced else _NO_OPERATION:
            content = await serialize_response(
                field=response_field,
                response_content=raw_response,
                is_coroutine=True,
                endpoint_ctx=endpoint_ctx,
                dump_json=dump_json,
                **serialization,
            )
        answer: Response
        if dump_json:
            answer = Response(content=content, media_type="application/json", **response_args)
        else:
            answer = actual_class(content, **response_args)
        if not is_body_allowed_for_status_code(answer.status_code):
            answer.body = b""
        answer.headers.raw.extend(response.headers.raw)
        return answer

    return app


async def _read_body(request: Request, strict_content_type: bool, endpoint_ctx: Any) -> Any:
    """The request's body as FastAPI's handler reads it: JSON when it says so, else bytes;
    Undefined when empty. Its errors are FastAPI's. JSON the edge's body guard parsed
    (`api.http.middleware.RequestBodyGuard`: the same `json` module, each key once) is not
    parsed again."""
    try:
        body_bytes = await request.body()
        if not body_bytes:
            return Undefined
        content_type = request.headers.get("content-type")
        if not content_type:
            return body_bytes if strict_content_type else await request.json()
        if is_json_content_type(content_type):
            parsed = request.scope.get(PARSED_BODY_KEY)
            if parsed is not None and parsed[0] == body_bytes:  # the edge parsed it already
                return parsed[1]
            return await request.json()
        return body_bytes
    except json.JSONDecodeError as e:
        validation_error = RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", e.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": e.msg},
                }
            ],
            body=e.doc,
            endpoint_ctx=endpoint_ctx,
        )
        _validation_failed(validation_error)
        raise validation_error from e
    except HTTPException:
        raise
    except Exception as e:
        if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (error := get_body_limit_error(e)):
            raise error from e
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from e
