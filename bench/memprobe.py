"""What grows in a long-running process: `python -m bench.memprobe <api.cli args>` runs the
CLI (e.g. `serve --worker`), starts tracemalloc at minute `MEMPROBE_START` (default 1:
after start-up, which tracing would slow down many times) and, at the minutes listed in
`MEMPROBE_AT` (default "3,8"), writes into `MEMPROBE_DIR` (default /tmp/memprobe):

- `snap-<minute>.tracemalloc`: a tracemalloc snapshot (compare two with `compare`);
- `stats-<minute>.json`: RSS, the Python heap tracemalloc sees, glibc's `mallinfo2`
  (arena bytes in use vs free: fragmentation), RSS again after `malloc_trim(0)`, the
  count of live objects by type (gc), CPython's small-object allocator
  (`sys._debugmallocstats`: its 256 KiB arenas, bytes in blocks in use vs free), the
  resident memory by kind of mapping (`/proc/self/smaps`: glibc's heap, thread stacks,
  glibc's thread arenas, other anonymous maps, files), the threads by name, and the
  largest containers (dict, list, set, deque) with what holds them.

`MEMPROBE_TRACE=0` leaves tracemalloc off (no snapshots): the other statistics alone, at
the process's normal speed, e.g. every minute (`MEMPROBE_AT=2,3,4,...`).

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
import re
import sys
import tempfile
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


def _pymalloc() -> dict[str, float]:
    """CPython's small-object allocator, from `sys._debugmallocstats()` (written to the C
    stderr: captured through a temporary file on fd 2 for the moment it takes). Its
    arenas are 1 MiB (3.10+), given back only when every block in them is free."""
    with tempfile.TemporaryFile(mode="w+") as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(captured.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        text = captured.read()
    wanted = {
        "# arenas allocated total": "arenas_allocated_total",
        "# arenas reclaimed": "arenas_reclaimed",
        "# arenas highwater mark": "arenas_highwater",
        "# arenas allocated current": "arenas_current",
        "# bytes in allocated blocks": "blocks_in_use_mb",
        "# bytes in available blocks": "blocks_free_mb",
        "# bytes lost to pool headers": "pool_headers_mb",
        "# bytes lost to quantization": "quantization_mb",
        "# bytes lost to arena alignment": "arena_alignment_mb",
        "Total": "total_mb",
    }
    found: dict[str, float] = {}
    for line in text.split("arena map counts")[0].splitlines():  # "Total" comes twice
        name, _, value = line.partition("=")
        key = wanted.get(name.strip())
        if key and value.strip():
            number = float(value.strip().replace(",", ""))
            found[key] = number / 2**20 if key.endswith("_mb") else number
    return found


STACK = 8 * 2**20  # glibc's default thread stack (ulimit -s), plus its guard page
ARENA_HEAP = 64 * 2**20  # a glibc thread arena's heap reservation (HEAP_MAX_SIZE)


def _smaps() -> dict[str, float]:
    """Resident MB by kind of mapping: the main heap, file maps, thread stacks (8 MiB
    anonymous maps), glibc's thread arenas (heaps at 64 MiB-aligned addresses), other
    anonymous maps (CPython's 1 MiB arenas, large mallocs' own maps...)."""
    kinds: collections.Counter[str] = collections.Counter()  # KiB
    counts: collections.Counter[str] = collections.Counter()
    kind = ""
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$", line)
            if head:
                size = int(head.group(2), 16) - int(head.group(1), 16)
                path = head.group(3)
                if path == "[heap]":
                    kind = "heap"
                elif path.startswith("/"):
                    kind = "files"
                elif path:
                    kind = path.strip("[]")
                elif size in (STACK, STACK + 4096):
                    kind = "stacks"
                elif int(head.group(1), 16) % ARENA_HEAP == 0 and size < ARENA_HEAP:
                    kind = "glibc_arenas"  # a thread arena's heap: aligned to its 64 MiB
                else:
                    kind = "anon_other"
                counts[kind] += 1
            elif line.startswith("Rss:"):
                kinds[kind] += int(line.split()[1])
    return {
        **{f"{k}_mb": round(v / 1024, 2) for k, v in kinds.items()},
        **{f"{k}_maps": n for k, n in counts.items()},
    }


def _threads() -> dict[str, int]:
    names = collections.Counter(re.sub(r"[-_ ]?\d+$", "", t.name) for t in threading.enumerate())
    return dict(names.most_common())


CONTAINERS = (dict, list, set, frozenset, collections.deque, collections.OrderedDict)


def _holder(container: object) -> str:
    """What refers to `container`: an object's attribute, a module's global, a class's."""
    for referrer in gc.get_referrers(container):
        if isinstance(referrer, dict):
            for owner in gc.get_referrers(referrer):
                if getattr(owner, "__dict__", None) is referrer and referrer is not None:
                    name = next((k for k, v in referrer.items() if v is container), "?")
                    kind = getattr(owner, "__name__", None) or type(owner).__qualname__
                    return f"{type(owner).__module__}.{kind}.{name}"
    kinds = {type(r).__qualname__ for r in gc.get_referrers(container)} - {"frame", "list"}
    return "<" + ",".join(sorted(kinds)[:3]) + ">"


def _largest(objects: list[object], top: int = 30) -> list[dict[str, Any]]:
    sized = [(len(o), id(o), o) for o in objects if type(o) in CONTAINERS]  # type: ignore[arg-type]
    sized.sort(key=lambda t: t[0], reverse=True)
    return [
        {"len": n, "type": type(o).__qualname__, "id": i, "held_by": _holder(o)}
        for n, i, o in sized[:top]
    ]


def _probe(minute: float, out: Path, objects_too: bool) -> None:
    """The allocator's figures first, before this probe's own allocations move them (a
    list of every live object is a few MB); the objects (slow, and large) only when
    `objects_too`."""
    stats: dict[str, Any] = {
        "minute": minute,
        "rss_mb": _rss_mb(),
        "smaps": _smaps(),
        "pymalloc": _pymalloc(),  # empty while tracemalloc traces (it wraps pymalloc)
        **_malloc_stats(),  # trims: every minute anyway in serve and worker (allocator.py)
        "threads": threading.active_count(),
        "thread_names": _threads(),
    }
    stats["smaps_after_trim"] = _smaps()
    traced, peak = tracemalloc.get_traced_memory()
    stats |= {
        "traced_mb": traced / 2**20,
        "traced_peak_mb": peak / 2**20,
        "tracemalloc_own_mb": tracemalloc.get_tracemalloc_memory() / 2**20,
    }
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(out / f"snap-{minute:g}.tracemalloc"))
    if objects_too:
        objects = gc.get_objects()
        stats |= {"gc_objects": len(objects), "types": _types(), "largest": _largest(objects)}
        del objects
    (out / f"stats-{minute:g}.json").write_text(json.dumps(stats, indent=1))


def _schedule(
    start: float, minutes: list[float], out: Path, trace: bool, objects_at: set[float] | None
) -> None:
    started = time.monotonic()
    time.sleep(start * 60)
    if trace:
        tracemalloc.start(FRAMES)  # after start-up: what is traced is what came later
    for minute in minutes:
        time.sleep(max(0.0, started + minute * 60 - time.monotonic()))
        try:
            _probe(minute, out, objects_at is None or minute in objects_at)
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
    grew = {t: n - a.get("types", {}).get(t, 0) for t, n in b.get("types", {}).items()}
    for name, delta in sorted(grew.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {delta:+8d} {name}")
    for key in ("rss_mb", "traced_mb", "in_use_mb", "free_in_arenas_mb", "rss_after_trim_mb"):
        print(f"  {key}: {a[key]:.1f} -> {b[key]:.1f}")
    _compare_extras(a, b)


def _compare_extras(a: dict[str, Any], b: dict[str, Any]) -> None:
    for group in ("pymalloc", "smaps", "smaps_after_trim", "thread_names"):
        old, new = a.get(group) or {}, b.get(group) or {}
        changed = {k: (old.get(k, 0), v) for k, v in new.items() if old.get(k, 0) != v}
        if changed:
            print(f"== {group}")
            for key, (x, y) in sorted(changed.items()):
                print(f"  {key}: {x:.2f} -> {y:.2f}")
    old_sizes = {c["id"]: c["len"] for c in a.get("largest", [])}
    print("== largest containers (len, change since the first probe if it was there)")
    for c in b.get("largest", [])[:20]:
        before = old_sizes.get(c["id"])
        change = f"{c['len'] - before:+d}" if before is not None else "new"
        print(f"  {c['len']:8d} {change:>7} {c['type']:<10} {c['held_by']}")


def series(directory: str) -> None:
    """One line per probe of a directory: how each kind of memory moved over the run."""
    rows = sorted(
        (json.loads(p.read_text()) for p in Path(directory).glob("stats-*.json")),
        key=lambda s: s["minute"],
    )
    print(
        "minute   rss  trimmed  malloc_used  malloc_free  pym_arenas  pym_used  pym_idle"
        "  heap  anon_other  glibc_arenas  stacks  threads  objects"
    )
    for s in rows:
        pym, maps = s.get("pymalloc", {}), s.get("smaps_after_trim", {})
        objects = s.get("gc_objects", 0)
        print(
            f"{s['minute']:6g} {s['rss_mb']:5.1f} {s['rss_after_trim_mb']:8.1f}"
            f" {s['in_use_mb']:12.1f} {s['free_in_arenas_mb']:12.1f}"
            f" {pym.get('arenas_current', 0):11.0f} {pym.get('blocks_in_use_mb', 0):9.1f}"
            f" {pym.get('total_mb', 0) - pym.get('blocks_in_use_mb', 0):9.1f}"
            f" {maps.get('heap_mb', 0):5.1f} {maps.get('anon_other_mb', 0):11.1f}"
            f" {maps.get('glibc_arenas_mb', 0):13.1f} {maps.get('stacks_mb', 0):7.1f}"
            f" {s['threads']:8d} {objects:8d}"
        )


def main() -> None:
    if sys.argv[1:2] == ["compare"]:
        compare(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1:2] == ["series"]:
        series(sys.argv[2])
        return
    out = Path(os.environ.get("MEMPROBE_DIR") or "/tmp/memprobe")  # noqa: S108 (a bench tool)
    out.mkdir(parents=True, exist_ok=True)
    minutes = [float(m) for m in (os.environ.get("MEMPROBE_AT") or "3,8").split(",")]
    start = float(os.environ.get("MEMPROBE_START") or 1)
    trace = os.environ.get("MEMPROBE_TRACE", "1") != "0"
    listed = os.environ.get("MEMPROBE_OBJECTS_AT")  # default: at every probe
    objects_at = {float(m) for m in listed.split(",") if m} if listed is not None else None
    threading.Thread(
        target=_schedule,
        args=(start, minutes, out, trace, objects_at),
        name="memprobe",
        daemon=True,
    ).start()
    sys.argv = ["ecovarejo", *sys.argv[1:]]
    from api.cli.root import main as cli

    cli()


if __name__ == "__main__":
    main()
