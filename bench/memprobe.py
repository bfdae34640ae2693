"""What grows in a long-running process: `python -m bench.memprobe <api.cli args>` runs the
CLI (e.g. `serve --worker`), starts tracemalloc at minute `MEMPROBE_START` (default 1:
after start-up, which tracing would slow down many times) and, at the minutes listed in
`MEMPROBE_AT` (default "3,8"), writes into `MEMPROBE_DIR` (default /tmp/memprobe):

- `snap-<minute>.tracemalloc`: a tracemalloc snapshot (compare two with `compare`);
- `stats-<minute>.json`: RSS, the Python heap tracemalloc sees, glibc's `mallinfo2`
  (arena bytes in use vs free: fragmentation), RSS again after `malloc_trim(0)`, and the
  count of live objects by type (gc).

`python -m bench.memprobe compare A B` prints the top growth between two snapshots by
line and by traceback, and the object types whose counts grew. Used by `make soak` with
`SOAK_SERVE_MODULE=bench.memprobe` (bench/soak.py); never in production.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

FRAMES = 8


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _malloc_stats() -> dict[str, Any]:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    stats = {
        "arena_mb": info.arena / 2**20,
        "mmap_mb": info.hblkhd / 2**20,
        "in_use_mb": info.uordblks / 2**20,
        "free_in_arenas_mb": info.fordblks / 2**20,
        "rss_before_trim_mb": _rss_mb(),
    }
    libc.malloc_trim(0)
    stats["rss_after_trim_mb"] = _rss_mb()
    return stats


def _types() -> dict[str, int]:
    counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    return dict(counts.most_common(200))


def _probe(minute: float, out: Path) -> None:
    snapshot = tracemalloc.take_snapshot()
    snapshot.dump(str(out / f"snap-{minute:g}.tracemalloc"))
    traced, peak = tracemalloc.get_traced_memory()
    stats = {
        "minute": minute,
        "rss_mb": _rss_mb(),
        "traced_mb": traced / 2**20,
        "traced_peak_mb": peak / 2**20,
        "threads": threading.active_count(),
        "gc_objects": len(gc.get_objects()),
        "types": _types(),
        **_malloc_stats(),
    }
    (out / f"stats-{minute:g}.json").write_text(json.dumps(stats, indent=1))


def _schedule(start: float, minutes: list[float], out: Path) -> None:
    started = time.monotonic()
    time.sleep(start * 60)
    tracemalloc.start(FRAMES)  # after start-up: what is traced is what came later
    for minute in minutes:
        time.sleep(max(0.0, started + minute * 60 - time.monotonic()))
        try:
            _probe(minute, out)
        except Exception as error:  # a probe must never take the server down
            print(f"memprobe: {error!r}", file=sys.stderr)


def _stats_of(snapshot: str) -> str:
    return snapshot.replace("snap-", "stats-").replace(".tracemalloc", ".json")


def compare(first: str, second: str, top: int = 25) -> None:
    old = tracemalloc.Snapshot.load(first)
    new = tracemalloc.Snapshot.load(second)
    noise = [tracemalloc.Filter(False, tracemalloc.__file__)]
    old, new = old.filter_traces(noise), new.filter_traces(noise)
    print("== by line")
    for stat in new.compare_to(old, "lineno")[:top]:
        print(stat)
    print("== by traceback")
    for stat in new.compare_to(old, "traceback")[:8]:
        print(stat)
        for line in stat.traceback.format()[-FRAMES * 2 :]:
            print("   ", line)
    a, b = (json.loads(Path(_stats_of(snapshot)).read_text()) for snapshot in (first, second))
    print("== object types that grew")
    grew = {t: n - a["types"].get(t, 0) for t, n in b["types"].items()}
    for name, delta in sorted(grew.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {delta:+8d} {name}")
    for key in ("rss_mb", "traced_mb", "in_use_mb", "free_in_arenas_mb", "rss_after_trim_mb"):
        print(f"  {key}: {a[key]:.1f} -> {b[key]:.1f}")


def main() -> None:
    if sys.argv[1:2] == ["compare"]:
        compare(sys.argv[2], sys.argv[3])
        return
    out = Path(os.environ.get("MEMPROBE_DIR") or "/tmp/memprobe")  # noqa: S108 (a bench tool)
    out.mkdir(parents=True, exist_ok=True)
    minutes = [float(m) for m in (os.environ.get("MEMPROBE_AT") or "3,8").split(",")]
    start = float(os.environ.get("MEMPROBE_START") or 1)
    threading.Thread(
        target=_schedule, args=(start, minutes, out), name="memprobe", daemon=True
    ).start()
    sys.argv = ["ecovarejo", *sys.argv[1:]]
    from api.cli.root import main as cli

    cli()


if __name__ == "__main__":
    main()
