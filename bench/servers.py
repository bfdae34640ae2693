"""The servers a benchmark runs against: the ones DATABASE_URL / REDIS_URL name, or embedded
PostgreSQL and Redis started in a temporary directory and stopped afterwards.

Every section gets its own fresh database and its own Redis database number, so sections do
not see each other's events or read models. With REDIS_URL set, the Redis databases 1-15
the sections use are flushed: point it at a throwaway instance, as for the tests."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from infrastructure.runtime.embedded import EmbeddedServers
from infrastructure.settings import Settings

JWT_SECRET = secrets.token_urlsafe(48)  # this run's; handed to the servers in their env
BENCH_MASTER_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # this run's
# Budgets far above what a benchmark sends: the limiter still runs (its Redis round trip
# is part of every request), it just never says no.
GENEROUS_BUDGET = str(10**9)


def with_database(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("db="))
        query = f"{query}&db={db}" if query else f"db={db}"
        return f"unix://{parts.netloc}{parts.path}?{query}"
    return urlunsplit(parts._replace(path=f"/{db}"))


@dataclass(frozen=True)
class Section:
    """One section's database, Redis database and data dir, as settings and as env."""

    database_url: str
    redis_url: str
    data_dir: Path
    extra: tuple[tuple[str, str], ...] = ()  # settings this section changes

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.base_env,
            **dict(self.extra),
        }

    @property
    def base_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "ECOVAREJO_DATA_DIR": str(self.data_dir),
            "ECOVAREJO_JWT_SECRET": JWT_SECRET,
            "ECOVAREJO_MASTER_KEY": BENCH_MASTER_KEY,
            "ECOVAREJO_RATELIMIT_DEFAULT_PER_MINUTE": GENEROUS_BUDGET,
            "ECOVAREJO_RATELIMIT_ORDERS_PER_MINUTE": GENEROUS_BUDGET,
            "ECOVAREJO_RATELIMIT_READS_PER_MINUTE": GENEROUS_BUDGET,
        }

    def settings(self) -> Settings:
        return Settings(**self.env)  # type: ignore[arg-type]

    def process_env(self) -> dict[str, str]:
        """The environment for a subprocess of this section (the API, the worker, a CLI)."""
        return {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}


@dataclass
class Servers:
    database_url: str
    redis_url: str
    root: Path
    embedded: EmbeddedServers | None = None
    _databases: list[str] = field(default_factory=list)
    _next_redis_db: int = 1

    def section(self, name: str) -> Section:
        """A fresh database and a flushed Redis database for one section."""
        dbname = f"bench_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        self._databases.append(dbname)
        redis_url = with_redis_db(self.redis_url, self._next_redis_db)
        self._next_redis_db = self._next_redis_db % 15 + 1
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        client.close()
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        return Section(with_database(self.database_url, dbname), redis_url, data_dir)

    def postgres_version(self) -> str:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def drop_databases(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for dbname in self._databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        self._databases.clear()


@contextmanager
def bench_servers() -> Iterator[Servers]:
    """The configured servers, or embedded ones in a temporary directory."""
    root = Path(tempfile.mkdtemp(prefix="ecovarejo-bench-"))
    database_url = os.environ.get("DATABASE_URL") or None
    redis_url = os.environ.get("REDIS_URL") or None
    embedded = None
    try:
        if database_url is None or redis_url is None:
            embedded = EmbeddedServers(root / "servers")
            pg, rd = embedded.start(
                need_postgres=database_url is None, need_redis=redis_url is None
            )
            database_url, redis_url = database_url or pg, redis_url or rd
        assert database_url is not None
        assert redis_url is not None
        servers = Servers(database_url, redis_url, root, embedded)
        try:
            yield servers
        finally:
            servers.drop_databases()
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(root, ignore_errors=True)
