"""The edge's own header reads (`api.http.middleware.header_of`, the body guard's one pass, the
CORS layer without an Origin) answer what Starlette's `Headers` and `CORSMiddleware` answer,
and its request ids are what `uuid.UUID(int=..., version=4)` makes of the same bits."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from api.http import edge
from api.http.middleware import ProblemCORSMiddleware, header_of

RAW = [
    (b"host", b"api"),
    (b"if-match", b'"3"'),
    (b"content-type", b"application/json"),
    (b"if-match", b'"4"'),
    (b"x-odd", "caf\u00e9".encode("latin-1")),
    (b"idempotency-key", b""),
]


@pytest.mark.parametrize(
    "name", ["host", "if-match", "content-type", "x-odd", "idempotency-key", "origin"]
)
def test_a_header_read_from_the_scope_is_the_one_starlette_headers_give(name):
    scope = {"headers": list(RAW)}
    assert header_of(scope, name.encode()) == Headers(scope={"headers": list(RAW)}).get(name)


def _answer_headers(
    cors: type[CORSMiddleware], request_headers: list[tuple[bytes, bytes]], vary: list[bytes]
) -> list[tuple[bytes, bytes]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), *((b"vary", v) for v in vary)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    middleware = cors(
        app,
        allow_origins=["https://loja.example"],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization"],
        expose_headers=["ETag"],
        max_age=600,
    )
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": request_headers}
    asyncio.run(middleware(scope, receive, send))
    assert sent[1] == {"type": "http.response.body", "body": b"{}"}
    return list(sent[0]["headers"])


@pytest.mark.parametrize("vary", [[], [b"Accept-Encoding"], [b"Accept", b"Cookie"]])
@pytest.mark.parametrize(
    "request_headers",
    [
        [(b"host", b"api")],
        [(b"host", b"api"), (b"origin", b"https://loja.example")],
        [(b"origin", b"https://elsewhere.example")],
    ],
)
def test_the_cors_layer_answers_with_the_headers_starlettes_cors_answers(request_headers, vary):
    ours = _answer_headers(ProblemCORSMiddleware, list(request_headers), vary)
    assert ours == _answer_headers(CORSMiddleware, list(request_headers), vary)


@pytest.mark.parametrize("seed", [0, 1, 2023])
def test_a_request_id_is_the_version_4_uuid_of_the_same_random_bits(seed, monkeypatch):
    draws = random.Random(seed)
    for bits in (0, (1 << 128) - 1):  # every bit clear, every bit set
        monkeypatch.setattr(edge, "_RANDOM", _Fixed(bits))
        assert edge._new_id() == str(uuid.UUID(int=bits, version=4))
    monkeypatch.setattr(edge, "_RANDOM", random.Random(seed))
    for _ in range(2000):
        expected = str(uuid.UUID(int=draws.getrandbits(128), version=4))
        assert edge._new_id() == expected


class _Fixed:
    def __init__(self, bits: int):
        self.bits = bits

    def getrandbits(self, k: int) -> int:
        assert k == 128
        return self.bits
