"""`CommandRoute`: a `def` command endpoint still runs in the thread pool, with the request's
context, and answers exactly as under FastAPI's own route class (status, headers, body, errors,
the answer's validation, the OpenAPI document); only its answer is validated on the event
loop (one thread hand-off instead of two). Every command route of the API takes it."""

from __future__ import annotations

import contextvars
import inspect
import threading
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.http.command_route import CommandRoute, is_threaded_command
from api.http.routers import API_ROUTERS

CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")


class Answer(BaseModel):
    sku: str
    version: int


async def caller() -> str:
    CALLER.set("ana")  # as `authenticate` stamps the event context
    return "ana"


def _app(route_class: type[APIRoute]) -> tuple[FastAPI, dict[str, Any]]:
    seen: dict[str, Any] = {}
    router = APIRouter(route_class=route_class, prefix="/items", tags=["items"])

    @router.post("/{sku}/receipts", status_code=201)
    def receive(
        sku: str, body: dict[str, int], who: Annotated[str, Depends(caller)], response: Response
    ) -> Answer:
        """Receive goods."""
        seen["thread"] = threading.get_ident()
        seen["caller"] = CALLER.get()
        if body.get("quantity", 0) < 0:
            raise HTTPException(409, "no")
        response.headers["ETag"] = '"2"'
        if body.get("quantity") == 99:
            return {"sku": sku}  # type: ignore[return-value]  # not an Answer: a 500
        return Answer(sku=sku, version=2)

    app = FastAPI()
    app.include_router(router)
    return app, seen


@pytest.mark.parametrize("quantity", [1, -1, 99])
def test_a_command_answers_as_under_fastapis_route_class(quantity):
    plain, _ = _app(APIRoute)
    threaded, seen = _app(CommandRoute)
    with TestClient(plain, raise_server_exceptions=False) as a:
        expected = a.post("/items/ECO-1/receipts", json={"quantity": quantity})
    with TestClient(threaded, raise_server_exceptions=False) as b:
        answer = b.post("/items/ECO-1/receipts", json={"quantity": quantity})
    assert answer.status_code == expected.status_code
    assert answer.headers.items() == expected.headers.items()
    assert answer.content == expected.content
    assert seen["thread"] != threading.get_ident()  # not on the test's (loop's) thread
    assert seen["caller"] == "ana"  # the request's context reached the thread


def test_the_openapi_document_is_the_same():
    assert _app(CommandRoute)[0].openapi() == _app(APIRoute)[0].openapi()


def test_every_def_command_of_the_api_runs_with_one_hand_off():
    commands = [
        route
        for router in API_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and is_threaded_command(inspect.unwrap(route.endpoint), route.methods)
    ]
    assert len(commands) > 50
    for route in commands:
        assert isinstance(route, CommandRoute), route.path
        assert inspect.iscoroutinefunction(route.endpoint), route.path


def test_reads_and_async_endpoints_keep_fastapis_handling():
    def read() -> None: ...

    async def command() -> None: ...

    assert not is_threaded_command(read, {"GET"})
    assert not is_threaded_command(command, {"POST"})
    assert is_threaded_command(read, {"POST", "PUT"})


def test_one_thread_hand_off_instead_of_two(monkeypatch):
    import fastapi.routing

    from api.http import command_route

    handed: list[str] = []
    for module in (fastapi.routing, command_route):
        original = module.run_in_threadpool

        async def counting(func: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
            handed.append(getattr(func, "__name__", "?"))
            return await _original(func, *args, **kw)

        monkeypatch.setattr(module, "run_in_threadpool", counting)
    for route_class, expected in ((APIRoute, 2), (CommandRoute, 1)):
        handed.clear()
        with TestClient(_app(route_class)[0]) as client:
            assert client.post("/items/ECO-1/receipts", json={"quantity": 1}).status_code == 201
        assert len(handed) == expected, handed


def test_a_command_thread_runs_in_the_callers_context_and_hands_back_its_error():
    import asyncio
    import contextvars

    from api.http.command_threads import run_in_command_thread

    who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")

    def read(suffix: str, *, upper: bool) -> str:
        return (who.get() + suffix).upper() if upper else who.get() + suffix

    def fail() -> None:
        raise LookupError("no such item")

    async def main() -> tuple[str, BaseException | None]:
        who.set("ana")
        answer = await run_in_command_thread(read, "!", upper=True)
        try:
            await run_in_command_thread(fail)
        except LookupError as e:
            return answer, e
        return answer, None

    answer, error = asyncio.run(main())
    assert answer == "ANA!"
    assert isinstance(error, LookupError)


def test_a_cancelled_caller_waits_for_its_command_to_end():
    import asyncio
    import threading
    import time

    from api.http.command_threads import run_in_command_thread

    ended = threading.Event()

    def slow() -> None:
        time.sleep(0.2)
        ended.set()

    async def main() -> bool:
        task = asyncio.create_task(run_in_command_thread(slow))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return ended.is_set()
        return False

    assert asyncio.run(main())
