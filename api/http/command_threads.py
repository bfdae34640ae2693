"""The command routes' threads: a command's `def` endpoint handed to a thread of its own pool
through a queue, its answer handed back with `loop.call_soon_threadsafe`.

anyio's `to_thread.run_sync` (what Starlette's `run_in_threadpool` uses) costs about twice this per
hand-off on the event loop (measured alone, a no-op function: ~160-190 → ~45-60 µs of the
loop's CPU, ~200-240 → ~80-100 µs of the process's, at load 8-16): a checkpoint (a whole
loop iteration before the work is even queued), the shared capacity limiter (a borrower
set, a waiter deque), a shielded cancel scope, the idle-worker bookkeeping and a bounded
`queue.Queue` with its condition. Here a hand-off is one `SimpleQueue.put` (C, lock-free
on the loop's side), one future and one `call_soon_threadsafe`.

Kept from anyio: the caller's context is copied into the thread (the event context, the
request's tracing span), with sniffio's async-library variable cleared as anyio clears it;
at most `MAX_THREADS` (anyio's default limit, 40) run at once, the rest wait in the queue;
and a cancelled caller does not abandon the command: it waits for the thread to finish
(anyio's `abandon_on_cancel=False`, a shielded scope), then is cancelled. Not kept: anyio's
thread-local portal (`anyio.from_thread` inside a command; no command uses it) and the
limit shared with other thread-pool work (reads, token verification keep anyio's pool).
Threads are started when every thread is busy, up to the limit, and live as long as the
process (daemons blocked on the queue, no CPU while idle)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import suppress
from contextvars import copy_context
from queue import SimpleQueue
from typing import Any, TypeVar

import sniffio

T = TypeVar("T")

MAX_THREADS = 40  # anyio's default thread limiter


class _Job:
    __slots__ = ("finished", "future", "loop", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]):
        self.loop = loop
        self.future = future
        self.waiter: asyncio.Future[None] | None = None  # set when the caller was cancelled
        self.finished = False


def _deliver(job: _Job, result: Any, error: BaseException | None) -> None:
    """On the loop: the thread's answer to whoever still waits for it."""
    job.finished = True
    if job.waiter is not None and not job.waiter.done():
        job.waiter.set_result(None)
    if job.future.done():  # the caller was cancelled meanwhile
        return
    if error is None:
        job.future.set_result(result)
    else:
        job.future.set_exception(error)


class CommandThreads:
    def __init__(self, max_threads: int = MAX_THREADS, name: str = "command"):
        self.max_threads = max_threads
        self.name = name
        self.queue: SimpleQueue[
            tuple[_Job, Any, Callable[..., Any], tuple[Any, ...], dict[str, Any]]
        ] = SimpleQueue()
        self.lock = threading.Lock()
        self.threads = 0
        self.busy = 0  # jobs queued or running

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`func(*args, **kwargs)` in one of the threads, in a copy of the caller's context."""
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future())
        context = copy_context()
        context.run(sniffio.current_async_library_cvar.set, None)
        with self.lock:
            self.busy += 1
            start = self.busy > self.threads and self.threads < self.max_threads
            if start:
                self.threads += 1
        if start:
            threading.Thread(
                target=self._work, name=f"{self.name}-{self.threads}", daemon=True
            ).start()
        self.queue.put((job, context, func, args, kwargs))
        try:
            result: T = await job.future
            return result
        except asyncio.CancelledError:
            await self._finish(job)
            raise

    @staticmethod
    async def _finish(job: _Job) -> None:
        """A cancelled caller waits, uncancellably, for its command to end in its thread."""
        while not job.finished:
            if job.waiter is None:
                job.waiter = job.loop.create_future()
            try:
                await asyncio.shield(job.waiter)
            except asyncio.CancelledError:
                continue

    def _work(self) -> None:
        while True:
            job, context, func, args, kwargs = self.queue.get()
            result: Any = None
            error: BaseException | None = None
            try:
                result = context.run(func, *args, **kwargs)
            except BaseException as e:  # handed to the caller, as anyio does
                error = e
            with self.lock:
                self.busy -= 1
            with suppress(RuntimeError):  # the loop was closed meanwhile: no one is waiting
                job.loop.call_soon_threadsafe(_deliver, job, result, error)
            del job, context, func, args, kwargs, result, error


_THREADS = CommandThreads()


async def run_in_command_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Starlette's `run_in_threadpool`, on the command threads."""
    return await _THREADS.run(func, *args, **kwargs)
