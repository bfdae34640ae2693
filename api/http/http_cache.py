"""HTTP caching of the public catalog (RFC 9110 §13, RFC 9111 §5.2, RFC 5861).

An anonymous answer of a catalog read may be kept by browsers, the API gateway and a CDN:
`Cache-Control: public, max-age=N, stale-while-revalidate=M` (settings), `Vary` on what
changes the answer (the caller's credentials, the encoding). An authenticated request gets
`private, no-store` like everything personal. Every catalog answer has a strong ETag, and
`If-None-Match` naming it (or `*`) is answered 304 with no body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from hashlib import blake2b

from fastapi import Request, Response

NO_STORE = "private, no-store"
VARY = "Authorization, Accept-Encoding"
JSON = "application/json"
_NO_STORE, _VARY, _JSON = NO_STORE.encode(), VARY.encode(), JSON.encode()
# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text
_ETAG = re.compile(r'\s*(?:W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
# An If-None-Match longer than this is not looked into: answered in full (never a 5xx).
MAX_IF_NONE_MATCH = 8192


@dataclass(frozen=True)
class CachePolicy:
    """How long shared caches may keep an anonymous answer of one kind of resource."""

    max_age_s: int
    stale_while_revalidate_s: int

    def public(self) -> str:
        return (
            f"public, max-age={self.max_age_s}, "
            f"stale-while-revalidate={self.stale_while_revalidate_s}"
        )

    @cached_property
    def public_bytes(self) -> bytes:
        return self.public().encode()


@dataclass(frozen=True)
class Conditional:
    """What of a request decides how its catalog answer is cached: who asks (anonymous or
    not) and which representation the client holds already."""

    anonymous: bool
    if_none_match: str | None

    @classmethod
    def of(cls, request: Request) -> Conditional:
        headers = request.headers
        anonymous = "authorization" not in headers and "cookie" not in headers
        return cls(anonymous, headers.get("if-none-match"))


def content_tag(body: bytes) -> str:
    """A strong ETag from the bytes themselves (the same bytes, the same tag)."""
    return '"' + blake2b(body, digest_size=12).hexdigest() + '"'


def none_match(header: str | None, etag: str) -> bool:
    """Whether `If-None-Match: header` names the current representation tagged `etag`
    (RFC 9110 §13.1.2: `*` matches any; tags compare weakly, W/ ignored). A malformed or
    oversized field matches nothing, so the client simply gets the full answer."""
    if header is None or len(header) > MAX_IF_NONE_MATCH:
        return False
    value = header.strip()
    if value == "*":
        return True
    opaque = etag.removeprefix("W/")
    position = 0
    while position < len(value):
        found = _ETAG.match(value, position)
        if found is None or found.end() == position:
            return False  # not a list of entity-tags
        if f'"{found.group(1)}"' == opaque:
            return True
        position = found.end()
    return False


@dataclass(frozen=True)
class Answer:
    """An answer as ASGI sends it: status, raw headers (in order), body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def answer_parts(asked: Conditional, body: bytes, etag: str, policy: CachePolicy | None) -> Answer:
    """The stored JSON `body` as the answer (200), or 304 with no body when the client holds
    it. `policy` None: a personal answer (never stored by a shared cache). The headers are
    the ones, in the order, a Starlette `Response` would send (the fast path sends them
    itself: `api.http.fast_path`)."""
    public = policy is not None and asked.anonymous
    headers = [
        (b"etag", etag.encode("latin-1")),
        (b"cache-control", policy.public_bytes if public and policy else _NO_STORE),
        (b"vary", _VARY),
    ]
    if none_match(asked.if_none_match, etag):
        return Answer(304, headers, b"")
    headers.append((b"content-length", str(len(body)).encode()))
    headers.append((b"content-type", _JSON))
    return Answer(200, headers, body)


class _Sent(Response):
    """A `Response` of ready parts (no header is derived again)."""

    def __init__(self, answer: Answer):
        self.status_code = answer.status
        self.body = answer.body
        self.background = None
        self.raw_headers = answer.headers


def cached_answer(
    asked: Conditional, body: bytes, etag: str, policy: CachePolicy | None
) -> Response:
    """`answer_parts` as a route's `Response`."""
    return _Sent(answer_parts(asked, body, etag, policy))
