"""Memory a long-running process keeps after it is freed: glibc's allocator, bounded.

Issue 24's soak found the serve process's RSS rising ~0.8 MB a minute while what it holds
did not grow: over 4.5 minutes of load (bench/memprobe.py in the `serve --worker`
process) the Python objects allocated meanwhile and still alive stayed at ~1.4 MB
(tracemalloc), the count of live objects flat (gc), and the bytes malloc had handed out
flat (`mallinfo2` in use 36.6 → 36.8 MB) — but the FREE bytes glibc kept in its arenas
grew 9.4 → 12.5 MB, the RSS with them. Seventy-odd threads (thread pool, runners, feed,
dramatiq, wakers) each get a malloc arena (up to eight per core), and freed chunks
scattered in them are not given back to the system.

So `serve` and `worker` (`keep_memory_flat`) limit glibc to two arenas before any thread
starts, and a daemon thread calls `malloc_trim(0)` every minute, which gives back every
whole free page in every arena. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
ARENAS = 2
TRIM_EVERY_S = 60.0


def _glibc() -> Any | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (glibc only: raises AttributeError elsewhere)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def limit_arenas(arenas: int = ARENAS) -> bool:
    """At most `arenas` malloc arenas from now on (call before threads start)."""
    return _LIBC is not None and bool(_LIBC.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Give every whole free page of every arena back to the system; True if any was."""
    return _LIBC is not None and bool(_LIBC.malloc_trim(0))


class Trimmer:
    """A daemon thread that trims every `interval` seconds until stopped."""

    def __init__(self, interval: float = TRIM_EVERY_S):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)

    def start(self) -> Trimmer:
        if _LIBC is not None:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                trim()
            except Exception:  # never worth taking a process down for
                log.debug("malloc_trim failed", exc_info=True)


def keep_memory_flat() -> Trimmer:
    """For a long-running process, at its start: few arenas, trimmed every minute."""
    limit_arenas()
    return Trimmer().start()
