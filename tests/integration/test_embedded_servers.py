"""The embedded default: real servers under the data dir, data kept, nothing orphaned."""

import psutil
import psycopg
import redis

from infrastructure.runtime.embedded import EmbeddedServers


def server_processes(data_dir) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("postgres" in cmdline or "redis" in cmdline):
            found.append(proc)
    return found


def test_data_survives_a_restart_and_stop_leaves_no_server_running(tmp_path):
    data_dir = tmp_path / "data"
    servers = EmbeddedServers(data_dir)
    pg_url, redis_url = servers.start(need_postgres=True, need_redis=True)
    assert pg_url
    assert redis_url
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    redis.Redis.from_url(redis_url).set("kept", "still here")
    servers.stop()
    assert server_processes(data_dir.resolve()) == []

    again = EmbeddedServers(data_dir)
    pg_url, redis_url = again.start(need_postgres=True, need_redis=True)
    try:
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)
        assert redis.Redis.from_url(redis_url).get("kept") == b"still here"
    finally:
        again.stop()
    assert server_processes(data_dir.resolve()) == []


def test_a_second_process_attaches_instead_of_starting_another(tmp_path):
    first = EmbeddedServers(tmp_path)
    first.start(need_postgres=True, need_redis=True)
    try:
        second = EmbeddedServers(tmp_path)
        second.start(need_postgres=True, need_redis=True)
        assert second.postgres is not None
        assert not second.postgres.started
        assert second.redis is not None
        assert not second.redis.started
        second.stop()  # must not stop what it did not start
        assert first.redis is not None
        assert redis.Redis.from_url(first.redis.url).ping()
    finally:
        first.stop()
