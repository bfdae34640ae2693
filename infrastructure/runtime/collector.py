"""Python's cycle collector, run less often while the whole log is read.

A rebuild or `replay --all` keeps two pages of the log alive (the one being projected and
the one the reader thread is fetching: a tuple and a `UUID` per row, all tracked by the
collector), and makes and drops a few containers per event. With the default threshold
(a young collection for every 700 tracked objects allocated and still alive) the pages
alone set off a young collection every few hundred rows, most of them in the reader
thread while it holds the GIL, and each promotes the page's rows to older generations,
which then have their own collections: measured on the `readside` log (100k events),
~130 young, ~12 middle and one full collection per rebuild, 2-3 µs of CPU an event, and
the rebuild's rate about doubled without them. What a log read frees, it frees by
reference counting: it makes no cycles of its own, so collecting rarely costs no memory
beyond a bounded delay for whatever cycles other threads of the process make.

`fewer_collections` raises the youngest generation's threshold for the time of the read
(other generations keep theirs), and restores it when the last concurrent reader is done.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Young collections once this many more tracked objects are alive than at the last one: a
# page of 2,000 rows is ~4,000, so pages come and go between collections.
READING_THRESHOLD = 50_000

_lock = threading.Lock()
_readers = 0
_restore: tuple[int, int, int] | None = None  # the thresholds before the first reader


@contextmanager
def fewer_collections(threshold: int = READING_THRESHOLD) -> Iterator[None]:
    """Collect cycles only every `threshold` tracked allocations while in this block (or
    as the process already does, when that is rarer or collection is off)."""
    global _readers, _restore
    with _lock:
        if _readers == 0:
            before = gc.get_threshold()
            if 0 < before[0] < threshold:
                gc.set_threshold(threshold, *before[1:])
                _restore = before
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0 and _restore is not None:
                # Unless someone set another threshold meanwhile: theirs stands.
                if gc.get_threshold()[0] == threshold:
                    gc.set_threshold(*_restore)
                _restore = None
