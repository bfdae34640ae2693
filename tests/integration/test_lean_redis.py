"""The pipelined Redis reader answers GET, MGET and a script (EVALSHA) as redis-py does, many
requests in flight on one connection, and reads again on a new connection after losing one."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from infrastructure.read_stores.lean_redis import LeanReaders, LeanScript


@pytest.fixture
def client(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request):
    """asyncio.run, on the standard event loop and on uvloop's (the server's)."""
    if request.param == "uvloop":
        import uvloop

        return uvloop.run
    return asyncio.run


def test_get_and_mget_answer_like_redis_py(redis_url, client, run):
    client.set("lean:a", b"\x00binary\r\nvalue")
    client.set("lean:empty", b"")
    readers = LeanReaders.of(redis_url)
    assert readers is not None

    async def read():
        reader = readers.reader()
        return (
            await reader.get("lean:a"),
            await reader.get("lean:missing"),
            await reader.mget("lean:a", "lean:missing", "lean:empty"),
        )

    got = run(read())
    assert got == (
        b"\x00binary\r\nvalue",
        None,
        [b"\x00binary\r\nvalue", None, b""],
    )
    assert got[2] == client.mget("lean:a", "lean:missing", "lean:empty")


def test_many_requests_in_flight_get_their_own_answers(redis_url, client, run):
    for n in range(200):
        client.set(f"lean:{n}", str(n) * (n % 50 + 1))
    readers = LeanReaders.of(redis_url)
    assert readers is not None

    async def read():
        reader = readers.reader()
        return await asyncio.gather(*(reader.mget(f"lean:{n}", "nothing") for n in range(200)))

    answers = run(read())
    assert answers == [[(str(n) * (n % 50 + 1)).encode(), None] for n in range(200)]


def test_an_error_reply_raises_and_the_connection_goes_on(redis_url, client):
    client.rpush("lean:list", b"x")
    client.set("lean:b", b"b")
    readers = LeanReaders.of(redis_url)
    assert readers is not None

    async def read():
        reader = readers.reader()
        with pytest.raises(redis.ResponseError):
            await reader.get("lean:list")  # WRONGTYPE
        return await reader.get("lean:b")

    assert asyncio.run(read()) == b"b"


def test_a_read_that_meets_a_lost_connection_is_asked_again_on_a_new_one(redis_url, client, run):
    client.set("lean:c", b"c")
    readers = LeanReaders.of(redis_url)
    assert readers is not None

    async def read():
        reader = readers.reader()
        assert await reader.get("lean:c") == b"c"
        client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        return await reader.get("lean:c")

    assert run(read()) == b"c"


def test_a_script_runs_by_its_digest_once_redis_knows_it(redis_url, client, run):
    # A source no Redis has seen (a fresh comment): the first call meets NOSCRIPT and sends
    # it whole; Redis keeps it, and it answers as redis-py's own call of it does.
    source = f"-- {uuid.uuid4()}\n" + (
        "redis.call('INCRBY', KEYS[1], ARGV[1])\n"
        "return {tonumber(redis.call('GET', KEYS[1])), tonumber(ARGV[2]) * 2, -1, 'ok'}"
    )
    script = LeanScript(source)
    assert client.script_exists(script.sha.decode()) == [False]
    readers = LeanReaders.of(redis_url)
    assert readers is not None

    async def call():
        reader = readers.reader()
        return [await reader.script(script, ["lean:n"], [2, 0.25]) for _ in range(2)]

    assert run(call()) == [[b"2", b"0", b"-1", b"ok"], [b"4", b"0", b"-1", b"ok"]]
    assert client.script_exists(script.sha.decode()) == [True]
    expected = client.register_script(source)(keys=["lean:n"], args=[2, 0.25])
    assert expected == [6, 0, -1, b"ok"]


def test_a_script_error_raises(redis_url, run):
    readers = LeanReaders.of(redis_url)
    assert readers is not None
    script = LeanScript(f"-- {uuid.uuid4()}\nreturn redis.call('NOSUCHCOMMAND')")

    async def call():
        with pytest.raises(redis.ResponseError):
            await readers.reader().script(script, [], [])
        return await readers.reader().get("lean:nothing")  # the connection goes on

    assert run(call()) is None


def test_a_tls_url_is_left_to_redis_py():
    assert LeanReaders.of("rediss://localhost:6380/0") is None


def test_set_stores_a_value_with_its_expiry_as_redis_py_would(redis_url, client, run):
    readers = LeanReaders.of(redis_url)
    assert readers is not None

    async def write():
        reader = readers.reader()
        await reader.set("lean:set", b"\x00body\r\n", 300)
        return await reader.get("lean:set")

    assert run(write()) == b"\x00body\r\n"
    assert client.get("lean:set") == b"\x00body\r\n"
    assert 0 < client.ttl("lean:set") <= 300
