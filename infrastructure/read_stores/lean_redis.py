"""A lean, pipelined Redis reader for the event loop's hottest reads (`GET`, `MGET`; the
search-results cache's `SET`) and the edge's one script per request (the rate limit's token
bucket, `EVALSHA`): one connection per event loop, requests written as they come and replies
matched in order.

Why: through redis-py's asyncio client one `MGET` costs ~50 µs of CPU (its connection
pool, retry and timeout wrappers, observability hooks and Python RESP parser); written and
parsed here it costs ~15 µs, and a catalog read is little else (bench/README.md, "The fast
path"); the rate limit's `EVALSHA` ~125 µs through redis-py, ~45 µs here. Only the replies
these commands give are parsed (bulk strings, integers, arrays of them, `+OK`, errors). TLS
is not supported: `LeanReaders.of` gives None for such a URL and callers use redis-py. A
lost connection fails the requests in flight with `redis.ConnectionError` (as redis-py
would) and the next request connects again."""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections import deque
from typing import Any, cast

import redis
from redis.asyncio.connection import SSLConnection, parse_url

Reply = bytes | list[bytes | None] | None


class ReplyError(redis.ResponseError):
    """Redis answered an error."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiting: deque[asyncio.Future[Reply]] = deque()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(redis.ConnectionError("the Redis connection was lost"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.waiting:
            parsed = _parse(self.buffer, 0)
            if parsed is None:
                return  # a reply not complete yet
            value, end = parsed
            del self.buffer[:end]
            future = self.waiting.popleft()
            if future.done():  # its caller was cancelled
                continue
            if isinstance(value, ReplyError):
                future.set_exception(value)
            else:
                future.set_result(value)

    def send(self, command: bytes) -> asyncio.Future[Reply]:
        if self.lost or self.transport is None or self.transport.is_closing():
            raise redis.ConnectionError("the Redis connection is closed")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self.transport.write(command)
        return future


def _parse(buffer: bytearray, at: int) -> tuple[Any, int] | None:
    """One reply from `at`: (value, where it ends), or None until more bytes come."""
    line_end = buffer.find(b"\r\n", at)
    if line_end < 0:
        return None
    kind, head = buffer[at], bytes(buffer[at + 1 : line_end])
    if kind == 36:  # $ bulk string
        size = int(head)
        if size < 0:
            return None, line_end + 2
        end = line_end + 2 + size
        if len(buffer) < end + 2:
            return None
        return bytes(buffer[line_end + 2 : end]), end + 2
    if kind == 42:  # * array
        count = int(head)
        if count < 0:
            return None, line_end + 2
        items, position = [], line_end + 2
        for _ in range(count):
            item = _parse(buffer, position)
            if item is None:
                return None
            items.append(item[0])
            position = item[1]
        return items, position
    if kind == 45:  # - error
        return ReplyError(head.decode("utf-8", "replace")), line_end + 2
    if kind == 95:  # _ null (RESP3)
        return None, line_end + 2
    return head, line_end + 2  # + simple string, : integer


def _command(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class LeanReader:
    """GET, MGET and EVALSHA on one pipelined connection of the running event loop."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connected(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and not protocol.lost:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is None or self._protocol.lost:
                self._protocol = await self._connect()
        return self._protocol

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        options = self.options
        try:
            if options.get("path"):
                _, protocol = await loop.create_unix_connection(_Protocol, options["path"])
            else:
                host, port = options.get("host", "localhost"), options.get("port", 6379)
                _, protocol = await loop.create_connection(_Protocol, host, port)
        except OSError as e:
            raise redis.ConnectionError(f"cannot connect to Redis: {e}") from e
        replies = []
        if options.get("password"):
            user = options.get("username")
            auth = (b"AUTH", *([user.encode()] if user else []), options["password"].encode())
            replies.append(protocol.send(_command(*auth)))
        if options.get("db"):
            replies.append(protocol.send(_command(b"SELECT", str(options["db"]).encode())))
        for reply in replies:
            await reply  # an error reply raises
        return protocol

    async def _ask(self, command: bytes) -> Reply:
        """The reply; a read that meets a lost connection (Redis closed an idle one, or
        restarted) is asked once more on a new one, as redis-py retries."""
        try:
            return await (await self._connected()).send(command)
        except redis.ConnectionError:
            return await (await self._connected()).send(command)

    async def get(self, key: str) -> bytes | None:
        value = await self._ask(_command(b"GET", key.encode()))
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ex: int) -> None:
        """`SET key value EX ex` (the search-results cache's write: an idempotent one, so
        asking it again on a new connection is safe)."""
        await self._ask(_command(b"SET", key.encode(), value, b"EX", str(ex).encode()))

    async def mget(self, *keys: str) -> list[bytes | None]:
        value = await self._ask(_command(b"MGET", *(key.encode() for key in keys)))
        if not isinstance(value, list):
            raise redis.ResponseError("MGET did not answer an array")
        return value

    async def script(self, script: LeanScript, keys: list[str], args: list[Any]) -> Reply:
        """The script's reply (integers as their digits: b"1"), by its digest; sent whole
        (EVAL, which Redis then keeps) when Redis does not know it (NOSCRIPT: a restart, a
        SCRIPT FLUSH)."""
        parts = [str(len(keys)).encode(), *(k.encode() for k in keys), *map(_argument, args)]
        try:
            return await self._ask(_command(b"EVALSHA", script.sha, *parts))
        except ReplyError as e:
            if not str(e).startswith("NOSCRIPT"):
                raise
        return await self._ask(_command(b"EVAL", script.source, *parts))


class LeanScript:
    """A Lua script for `LeanReader.script`: its source and digest."""

    def __init__(self, source: str):
        self.source = source.encode()
        self.sha = hashlib.sha1(self.source, usedforsecurity=False).hexdigest().encode()


def _argument(value: Any) -> bytes:
    """As redis-py encodes an argument (a float by its repr)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, float):
        return repr(value).encode()
    return str(value).encode()


class LeanReaders:
    """A `LeanReader` per event loop (a connection belongs to the loop that made it)."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        self._readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LeanReader] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def of(cls, url: str) -> LeanReaders | None:
        """None when the URL asks for what this reader does not do (TLS)."""
        options: dict[str, Any] = dict(parse_url(url))
        if options.get("connection_class") is SSLConnection:
            return None
        return cls(options)

    def reader(self) -> LeanReader:
        loop = asyncio.get_running_loop()
        found = self._readers.get(loop)
        if found is None:
            found = self._readers[loop] = LeanReader(self.options)
        return found
