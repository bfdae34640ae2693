"""One data dir, one set of servers: `serve` processes started together share one
PostgreSQL and one Redis, the last to stop stops them, a `serve` after a crash stops what
the crashed one left, and `ecovarejo stop` stops them on request."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil

from tests.e2e.test_cli import ECOVAREJO, clean_env, free_port, run


def servers_of(data_dir: Path) -> dict[str, list[int]]:
    """The PostgreSQL postmasters and Redis servers running on `data_dir`."""
    found: dict[str, list[int]] = {"postgres": [], "redis": []}
    for proc in psutil.process_iter(["name", "cmdline", "cwd", "ppid"]):
        name = proc.info["name"] or ""
        cmdline = " ".join(proc.info["cmdline"] or [])
        if name == "postgres" and f"-D {data_dir}/postgres" in cmdline:
            found["postgres"].append(proc.pid)
        elif name.startswith("redis") and str(proc.info["cwd"] or "").startswith(str(data_dir)):
            found["redis"].append(proc.pid)
    return found


def nothing_runs(data_dir: Path) -> bool:
    return servers_of(data_dir) == {"postgres": [], "redis": []}


def spawn(data_dir: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [*ECOVAREJO, "serve", "--port", str(port)],
        env=clean_env(ECOVAREJO_DATA_DIR=str(data_dir)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not answer /health")


def ready_within(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200:
            return True
        time.sleep(0.5)
    return False


def terminate(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0


def test_two_serves_at_once_share_one_postgres_and_one_redis_and_leave_nothing(tmp_path):
    data_dir = (tmp_path / "data").resolve()
    ports = [free_port(), free_port()]
    serves = [spawn(data_dir, port) for port in ports]
    try:
        for port, serve in zip(ports, serves, strict=True):
            wait_healthy(port, serve)
        running = servers_of(data_dir)
        assert len(running["postgres"]) == 1
        assert len(running["redis"]) == 1
        refused = run("stop", env=clean_env(ECOVAREJO_DATA_DIR=str(data_dir)))
        assert refused.returncode == 2
        assert "in use" in refused.stderr
        terminate(serves[0])
        assert servers_of(data_dir) == running  # the other serve still uses them
        # Ready again once it holds the followers the other one leased (takeover within 10 s).
        assert ready_within(ports[1], 30)
        terminate(serves[1])
    finally:
        for serve in serves:
            if serve.poll() is None:
                serve.kill()
    assert nothing_runs(data_dir)


def test_after_a_crash_the_next_serve_stops_what_it_found_and_stop_stops_orphans(tmp_path):
    data_dir = (tmp_path / "data").resolve()
    env = clean_env(ECOVAREJO_DATA_DIR=str(data_dir))
    port = free_port()
    crashed = spawn(data_dir, port)
    wait_healthy(port, crashed)
    left = servers_of(data_dir)
    crashed.kill()  # SIGKILL: no clean-up at all
    crashed.wait(30)
    assert servers_of(data_dir) == left  # orphans

    serve = spawn(data_dir, port)
    try:
        wait_healthy(port, serve)
        assert servers_of(data_dir) == left  # attached, nothing started twice
        terminate(serve)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert nothing_runs(data_dir)

    crash = "from infrastructure.runtime.embedded import EmbeddedServers as E; import os, pathlib; "
    crash += f"E(pathlib.Path({str(data_dir)!r})).start(need_postgres=True, need_redis=True); "
    crash += "os.kill(os.getpid(), 9)"
    subprocess.run([ECOVAREJO[0], "-c", crash], env=env, check=False, timeout=120)
    assert servers_of(data_dir) != {"postgres": [], "redis": []}
    stopped = run("stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith("stopped redis and postgres")
    assert nothing_runs(data_dir)
    again = run("stop", env=env)
    assert again.stdout.startswith("no embedded server was running")
