"""Pure ASGI middlewares of the edge: the request body and text guards (413 / 415 / 422),
the last-resort error guard (a problem+json 500, never a stack trace), CORS and `Allow`.
The security headers, forwarded addresses, ids, metrics and access log are `api.http.edge`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import problem, unexpected_problem
from api.http.routes import RouteTable, template_of
from api.http.text import first_text_problem, text_problem

log = logging.getLogger("ecovarejo.edge")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# An API answers JSON: nothing may load, frame or submit anything from its responses.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive docs load Swagger UI / ReDoc from their CDN and run an inline bootstrap.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def header_of(scope: Scope, name: bytes) -> str | None:
    """`Headers(scope=scope).get(name)` (`name` in lower case, as the scope holds it) without
    building a `Headers` (which copies the scope's list) nor going through `Mapping.get`: the
    first value of that header, decoded as Latin-1, or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class RequestBodyGuard:
    """Reads the whole body before the app sees it, up to `max_bytes`: a larger one is a 413,
    whether it declares its length or comes chunked without one. A body on a command must be
    JSON (415 otherwise), well formed (a 422 problem, never FastAPI's 400 or a 500), with no key
    twice in an object, and its text must follow the edge's rule. The app then reads the body
    from memory. Under `form_prefixes` (the console's HTML forms) bodies are url-encoded
    forms, which those routes check themselves."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        form_prefixes: Iterable[str] = (),
        own_limit_paths: Iterable[str] = (),
        upload_limits: Iterable[tuple[str, int]] = (),
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.form_prefixes = tuple(form_prefixes)
        # Uploads whose route sets and checks its own, larger limit before reading (the
        # console's catalog import): streamed to it, not held here.
        self.own_limit_paths = frozenset(own_limit_paths)
        # Multipart uploads (product images): paths matching a pattern take its larger
        # limit here, still refused (413) before the body is read past it; the route
        # checks the form itself.
        self.upload_limits = [(re.compile(p), limit) for p, limit in upload_limits]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.own_limit_paths:
            await self.app(scope, receive, send)
            return
        # The two headers it reads, in one pass over the scope's list (each the first of
        # its name, as `Headers.get` finds it)
        declared = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if declared is None:
                    declared = value.decode("latin-1")
            elif name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
        upload_limit = next((n for p, n in self.upload_limits if p.match(scope["path"])), None)
        max_bytes = upload_limit or self.max_bytes
        if declared is not None and not declared.isdigit():
            await problem(400, "Content-Length must be a number")(scope, receive, send)
            return
        if declared is not None and int(declared) > max_bytes:
            await self._too_large(scope, receive, send, max_bytes)
            return
        body = await self._read(receive, max_bytes)
        if body is None:
            await self._too_large(scope, receive, send, max_bytes)
            return
        is_form = upload_limit is not None or (
            scope["path"].startswith(self.form_prefixes) if self.form_prefixes else False
        )
        if body and scope["method"] in BODY_METHODS and not is_form:
            refusal, document = checked_body(body, content_type)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            scope[PARSED_BODY_KEY] = (body, document)
        await self.app(scope, replay_body(body, receive), send)

    async def _read(self, receive: Receive, max_bytes: int) -> bytes | None:
        """The body, or None past the limit (the rest is not read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        detail = f"the body is larger than {max_bytes} bytes"
        response = problem(413, detail, headers={"Connection": "close"})
        await response(scope, receive, send)


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document: dict[str, object] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKeyError(f"the key {key!r} appears twice in one object")
        document[key] = value
    return document


# Where the guard keeps a command's body as it parsed it, (the bytes, the document), so the
# command's handler (`api.http.command_handler`) does not parse it again.
PARSED_BODY_KEY = "ecovarejo.parsed_body"


def refuse_body(body: bytes, content_type: str | None) -> Response | None:
    """A command's body must be JSON (415), well formed UTF-8 JSON with each key once per
    object (422), and its text must follow the edge's rule (`api.http.text`; 422)."""
    return checked_body(body, content_type)[0]


def checked_body(body: bytes, content_type: str | None) -> tuple[Response | None, Any]:
    """`refuse_body`'s refusal, or None and the document parsed."""
    if not is_json(content_type):
        return problem(415, "the body must be JSON (Content-Type: application/json)"), None
    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=_unique_keys)
    except DuplicateKeyError as e:
        error = {"loc": ["body"], "msg": str(e)[:200], "type": "duplicate_key"}
        return problem(422, "the request is not valid", errors=[error]), None
    except (ValueError, RecursionError) as e:
        detail = "the body is not UTF-8" if isinstance(e, UnicodeDecodeError) else str(e)
        error = {"loc": ["body"], "msg": detail[:200], "type": "json_invalid"}
        refusal = problem(422, "the body is not valid JSON", kind="malformed-json", errors=[error])
        return refusal, None
    found = first_text_problem(document)
    if found:
        error = {"loc": ["body"], "msg": found, "type": "string_forbidden_character"}
        return problem(422, "the request is not valid", errors=[error]), None
    return None, document


# Headers the edge reads (the bearer token is judged by the token verifier: 401).
READ_HEADERS = ("idempotency-key", "if-match", "x-consistency-token", "x-correlation-id")
_READ_HEADER_NAMES = frozenset(h.encode() for h in READ_HEADERS)  # as the scope holds them


def _decoded(raw: bytes, what: str, *, plus: bool = False) -> tuple[str, str | None]:
    """Percent-decoded UTF-8 (strict), and the rule's complaint about it, if any."""
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ") if plus else raw).decode("utf-8")
    except UnicodeDecodeError:
        return "", f"the {what} is not valid UTF-8"
    found = text_problem(text)
    return text, (f"{what}: {found}" if found else None)


def url_problem(scope: Scope) -> dict[str, object] | None:
    """The first breach of the text rule in the path, the query or a header we read."""
    raw_path = scope.get("raw_path")
    if raw_path is None:  # a server that gives the decoded path only
        found = text_problem(scope["path"])
        found = f"path: {found}" if found else None
    else:
        _, found = _decoded(raw_path, "path")
    if found:
        return {"loc": ["path"], "msg": found, "type": "string_forbidden_character"}
    for part in (scope.get("query_string") or b"").split(b"&"):
        name, _, value = part.partition(b"=")
        decoded_name, found = _decoded(name, "query parameter name", plus=True)
        found = found or _decoded(value, f"query parameter {decoded_name!r}", plus=True)[1]
        if found:
            loc = ["query", decoded_name or "?"]
            return {"loc": loc, "msg": found, "type": "string_forbidden_character"}
    for name, value in scope.get("headers") or []:
        if name in _READ_HEADER_NAMES:
            found = text_problem(value.decode("latin-1"))
            if found:
                loc = ["header", name.decode()]
                return {"loc": loc, "msg": found, "type": "string_forbidden_character"}
    return None


class InputTextGuard:
    """Refuses (422) a request whose path, query or read headers break the text rule, before
    any route, rate limit or idempotency record sees it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = url_problem(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        await problem(422, "the request is not valid", errors=[found])(scope, receive, send)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` (already read) first, then what the client sends."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class ServerErrorGuard:
    """The last resort: an exception nothing handled becomes a problem+json 500 (logged with
    the route template and correlation id, not the request), never a stack trace."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            template = template_of(scope)
            if started:
                log.exception("unhandled error on %s %s", scope["method"], template)
                raise
            response = unexpected_problem(error, f"{scope['method']} {template}", log)
            await response(scope, receive, send)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as a problem like every error. A
    request without `Origin` (neither a preflight nor a cross-origin call: every call that
    is not a browser's) takes the branch of Starlette's `send` it would take, which only
    adds `Vary: Origin` to the answer, without a `Headers` of the request built and asked
    for `Origin` twice (each a `KeyError` caught by `Mapping.get`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or header_of(scope, b"origin") is not None:
            await super().__call__(scope, receive, send)
            return

        async def send_vary(message: Message) -> None:
            # `CORSMiddleware.send` without an Origin: the same steps, in the same order
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
            await send(message)

        await self.app(scope, receive, send_vary)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith("access-")}
        detail = bytes(response.body).decode("utf-8", "replace")
        return problem(response.status_code, detail, kind="cors-refused", headers=headers)


class AllowMiddleware:
    """The true `Allow` list: a 405 names every method the path serves (routes for the same
    path are separate, and the router names only one's), and a plain `OPTIONS` request (not
    a CORS preflight, which CORS answers) gets 204 with it."""

    def __init__(self, app: ASGIApp, routes: RouteTable):
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and (allowed := self.routes.allowed(scope["path"])):
            headers = {"Allow": ", ".join(allowed)}
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            # The full list is only looked up for a 405 (the edge matched the route once).
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self.routes.allowed(scope["path"])
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
            await send(message)

        await self.app(scope, receive, send_with_allow)


class _Identity(IdentityResponder):
    """Starlette's responder, given its excluded types already normalized."""

    def __init__(self, app: ASGIApp, minimum_size: int, normalized: tuple[str, ...]):
        super().__init__(app, minimum_size, exclude_content_types=())
        self.exclude_content_types = normalized


class _GZip(GZipResponder):
    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        compresslevel: int,
        thread_minimum_size: int,
        normalized: tuple[str, ...],
    ):
        super().__init__(
            app,
            minimum_size,
            compresslevel,
            thread_minimum_size=thread_minimum_size,
            exclude_content_types=(),
        )
        self.exclude_content_types = normalized


class LeanGZipMiddleware(GZipMiddleware):
    """Starlette's GZip, without normalizing its fourteen excluded content types again for
    every request (its responders do, in `__init__`) nor building a `Headers` to find
    Accept-Encoding: the same responders, the same answers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepted = ""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accepted = value.decode("latin-1")
                break
        responder: ASGIApp
        if "gzip" in accepted:
            responder = _GZip(
                self.app,
                self.minimum_size,
                self.compresslevel,
                self.thread_minimum_size,
                self.exclude_content_types,
            )
        else:
            responder = _Identity(self.app, self.minimum_size, self.exclude_content_types)
        await responder(scope, receive, send)
