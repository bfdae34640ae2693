"""Real servers for the tests: embedded PostgreSQL and Redis, started once per session,
unless DATABASE_URL / REDIS_URL point at servers (then those are used; Redis is flushed
between tests, so point it at a throwaway instance). Each test gets its own database."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from infrastructure.bootstrap import Container, bootstrap
from infrastructure.keys.data_keys import MASTER_KEY_FILE, generate_master_key
from infrastructure.runtime.embedded import EmbeddedServers
from infrastructure.settings import Settings

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"


def pytest_configure(config: pytest.Config) -> None:
    """Give each test run its own temp root. pytest's default root is shared by every run of
    the same user and prunes the oldest runs' folders, which deletes the data dir of an
    embedded PostgreSQL still in use by a concurrent run (another checkout, CI beside a dev)."""
    if config.option.basetemp is None and "PYTEST_DEBUG_TEMPROOT" not in os.environ:
        root = Path(tempfile.gettempdir()) / f"ecovarejo-pytest-{os.getpid()}"
        config.option.basetemp = str(root)
        config.stash[_OWN_BASETEMP] = root


def pytest_unconfigure(config: pytest.Config) -> None:
    root = config.stash.get(_OWN_BASETEMP, None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


_OWN_BASETEMP = pytest.StashKey[Path]()


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    embedded = None
    if not database_url or not redis_url:
        embedded = EmbeddedServers(tmp_path_factory.mktemp("servers"))
        pg, rd = embedded.start(need_postgres=not database_url, need_redis=not redis_url)
        if pg is not None:
            without_fsync(pg)
        database_url, redis_url = database_url or pg, redis_url or rd
    assert database_url
    assert redis_url
    yield Servers(database_url, redis_url)
    if embedded is not None:
        embedded.stop()


def without_fsync(url: str) -> None:
    """The session's own throwaway PostgreSQL does not flush to disk: every test creates a
    database and its tables, and with fsync each of those waited for the disk (measured in
    bench/README.md). Only an operating-system crash could lose what it wrote, and the
    data dir is deleted after the run anyway; a killed server or backend loses nothing
    committed, so the tests that kill processes test the same thing."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@contextmanager
def new_database(servers: Servers) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped on leaving."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(servers.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(servers.database_url, name)
    finally:
        with psycopg.connect(servers.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(servers: Servers) -> Iterator[str]:
    with new_database(servers) as url:
        yield url


@pytest.fixture
def redis_url(servers: Servers) -> Iterator[str]:
    client = redis.Redis.from_url(servers.redis_url)
    client.flushdb()
    yield servers.redis_url
    client.flushdb()
    client.close()


def plain_settings(database_url: str, redis_url: str, data_dir: Path) -> Settings:
    """A test system's settings. The master key lives in the data dir, as in embedded mode,
    so that CLI subprocesses given ECOVAREJO_DATA_DIR use the same one."""
    (data_dir / MASTER_KEY_FILE).write_text(generate_master_key())
    return Settings(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ECOVAREJO_DATA_DIR=data_dir,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_PAYMENT_TIMEOUT_S=5,
    )


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return plain_settings(database_url, redis_url, tmp_path)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """The whole system wired as in production, projectors running."""
    built = bootstrap(settings)
    built.start_processing()
    yield built
    built.close()
