"""Every PostgreSQL transaction of a checkout, attributed to the thread that sent it
(`python -m bench.checkout_statements`): the checkout profile's setup (the API in process,
the worker's followers and actors in threads), with the server logging every statement of
the section's database (`ALTER DATABASE … SET log_statement = 'all'`).

Needs a PostgreSQL server whose log this process can read, as a superuser: DATABASE_URL
(the section's database is made on it and dropped after) and `PROFILE_PG_LOG`, the log file
(default /var/log/postgresql/postgresql-15-main.log). Redis is embedded unless REDIS_URL is
set (the bench flushes the section's Redis database: see bench/servers.py).

The statements between two markers (sent before and after `PROFILE_CHECKOUTS`, default 10,
checkouts, after 5 of warm-up) are split by backend into transactions (BEGIN … COMMIT /
ROLLBACK, or one statement alone), each named by its statements' shapes (literals and
parameters elided) and by the threads that used the backend (psycopg's cursors are watched
to know which thread sent what on which backend). Prints, per transaction shape, how many
per checkout, and the totals.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.checkout_profile import checkout
from bench.http import token
from bench.loadgen import ORDER_WAIT_S
from bench.seed import register
from bench.servers import bench_servers

LOG = os.environ.get("PROFILE_PG_LOG", "/var/log/postgresql/postgresql-15-main.log")
LINE = re.compile(
    r"^\S+ \S+ \S+ \[(?P<pid>\d+)\] \S*@(?P<db>\S+) LOG:  "
    r"(?:statement|execute [^:]*): (?P<sql>.*)$"
)


class Senders:
    """Which thread sent each statement, by backend (the backend's pid): the statements'
    shapes in the order they were sent, to be matched with the server's log."""

    def __init__(self) -> None:
        self.by_pid: dict[int, list[tuple[str, str, bool]]] = collections.defaultdict(list)

    @contextmanager
    def watching(self) -> Iterator[None]:
        originals = {name: getattr(psycopg.Cursor, name) for name in ("execute", "executemany")}
        by_pid = self.by_pid

        def wrap(method: Any, many: bool) -> Any:
            def watched(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    pid = cursor.connection.info.backend_pid
                    text = query if isinstance(query, str) else query.as_string(cursor)
                except Exception:
                    pid, text = 0, ""
                thread = re.sub(r"-\d+", "", threading.current_thread().name)
                by_pid[pid].append((_key(text), thread, many))
                return method(cursor, query, *args, **kwargs)

            return watched

        for name, method in originals.items():
            setattr(psycopg.Cursor, name, wrap(method, name == "executemany"))
        try:
            yield
        finally:
            for name, method in originals.items():
                setattr(psycopg.Cursor, name, method)


def _key(sql: str) -> str:
    """What a statement sent and the same statement logged have in common."""
    return re.sub(r"[^a-z]", "", sql.lower())[:30]


def attributed(lines: list[tuple[int, str]], senders: Senders) -> list[tuple[int, str, str]]:
    """(pid, sql, thread) for each logged statement: each backend's logged statements
    matched in order with the statements sent on it (BEGIN, COMMIT and statements psycopg
    sends by itself take the thread of the statement before or after them)."""
    sent = {pid: list(records) for pid, records in senders.by_pid.items()}
    at: dict[int, int] = collections.defaultdict(int)
    last: dict[int, str] = {}
    out: list[tuple[int, str, str]] = []
    for pid, sql in lines:
        records, key, thread = sent.get(pid, []), _key(sql), ""
        i = at[pid]
        if i > 0 and records[i - 1][2] and records[i - 1][0] == key:
            thread = records[i - 1][1]  # executemany: one call, many statements
        else:
            for j in range(i, min(i + 8, len(records))):
                if records[j][0] == key:
                    thread, at[pid] = records[j][1], j + 1
                    break
        if not thread:
            thread = last.get(pid) or (records[i][1] if i < len(records) else "?")
        last[pid] = thread
        out.append((pid, sql, thread))
    return out


def shape(sql: str) -> str:
    """A statement without its literals, whitespace folded, cut to a readable length."""
    text = re.sub(r"'(?:[^']|'')*'", "'?'", sql)
    text = re.sub(r"\$\d+", "$", text)
    text = re.sub(r"\b\d+\b", "N", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:150]


def _folded(statements: list[str]) -> tuple[str, ...]:
    """Repeats of one statement (an `executemany`) as one line."""
    folded: list[str] = []
    for statement in statements:
        if folded and folded[-1].removesuffix("  (repeated)") == statement:
            folded[-1] = statement + "  (repeated)"
        else:
            folded.append(statement)
    return tuple(folded)


def transactions(lines: list[tuple[int, str, str]]) -> list[tuple[str, tuple[str, ...]]]:
    """(thread, statements) per transaction: BEGIN … COMMIT/ROLLBACK, or a statement alone
    (the thread of a transaction: the one that sent its first statement)."""
    open_: dict[int, tuple[str, list[str]]] = {}
    done: list[tuple[str, tuple[str, ...]]] = []
    for pid, sql, thread in lines:
        head = sql.strip().split(None, 1)[0].upper().rstrip(";") if sql.strip() else ""
        if head in ("BEGIN", "START"):
            open_[pid] = ("", [])
        elif head in ("COMMIT", "ROLLBACK", "END") and pid in open_:
            who, statements = open_.pop(pid)
            done.append((who or thread, _folded(statements)))
        elif pid in open_:
            who, statements = open_[pid]
            statements.append(shape(sql))
            open_[pid] = (who or thread, statements)
        else:
            done.append((thread, (shape(sql),)))
    return done


def run(count: int) -> None:
    from api.http.app import create_app
    from infrastructure.bootstrap import bootstrap
    from infrastructure.runtime.followers import runners_for

    log_path = Path(LOG)
    with bench_servers() as servers:
        section = servers.section("trace")
        dbname = section.database_url.rsplit("/", 1)[1]
        with psycopg.connect(servers.database_url, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE \"{dbname}\" SET log_statement = 'all'")
        container = bootstrap(section.settings())
        register(container, ["TRACE-1"], quantity=1_000_000)
        container.start_processing()
        runners = sorted(r.name for r in runners_for(container))
        deadline = time.monotonic() + 120
        while sorted(container.leases.held() if container.leases else []) != runners:
            if time.monotonic() > deadline:
                raise RuntimeError("the followers did not start")
            time.sleep(0.1)
        app = create_app(container)
        headers = {"Authorization": f"Bearer {token('trace-buyer', 'customer')}"}

        async def checkouts(n: int) -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for _ in range(n):
                    await checkout(client, "TRACE-1", headers, ORDER_WAIT_S)

        senders = Senders()
        try:
            asyncio.run(checkouts(5))
            time.sleep(1.5)
            with psycopg.connect(section.database_url, autocommit=True) as marker:
                marker_pid = marker.info.backend_pid
                marker.execute("SELECT 'trace-begin'")
                with senders.watching():
                    asyncio.run(checkouts(count))
                    container.wait_for_projections(container.head_position(), 30)
                    time.sleep(1.5)
                marker.execute("SELECT 'trace-end'")
        finally:
            container.close()
    time.sleep(0.5)
    report(_traced(log_path, dbname, marker_pid), senders, count)


def _traced(log_path: Path, dbname: str, marker_pid: int) -> list[tuple[int, str]]:
    """The logged statements of `dbname` between the markers, as (pid, sql)."""
    lines: list[tuple[int, str]] = []
    inside = False
    for raw in log_path.read_text(errors="replace").splitlines():
        m = LINE.match(raw)
        if m is None:
            if raw.startswith(("\t", " ")) and inside and lines and lines[-1][0] > 0:
                lines[-1] = (lines[-1][0], lines[-1][1] + " " + raw.strip())
            continue
        if m["db"] != dbname:
            if inside and lines:
                lines.append((0, ""))  # a line of another database: no continuation
            continue
        pid, sql = int(m["pid"]), m["sql"]
        if pid == marker_pid:
            if "trace-begin" in sql:
                inside = True
            elif "trace-end" in sql:
                break
            continue
        if inside:
            lines.append((pid, sql))
    return [line for line in lines if line[0] > 0]


def report(lines: list[tuple[int, str]], senders: Senders, count: int) -> None:
    per_shape: collections.Counter[tuple[str, tuple[str, ...]]] = collections.Counter()
    for who, statements in transactions(attributed(lines, senders)):
        per_shape[(who, statements)] += 1
    total = sum(per_shape.values())
    print(
        f"{count} checkouts: {total / count:.1f} transactions, {len(lines) / count:.1f} "
        "statements logged per checkout (BEGIN and COMMIT included)"
    )
    for (who, statements), n in sorted(per_shape.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"\n{n / count:5.2f}  [{who}]")
        for statement in statements:
            print(f"        {statement}")


if __name__ == "__main__":
    run(int(os.environ.get("PROFILE_CHECKOUTS") or 10))
