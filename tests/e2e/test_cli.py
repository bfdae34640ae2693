"""The `ecovarejo` command line, as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ECOVAREJO = [sys.executable, "-m", "api.cli"]


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ECOVAREJO, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("ECOVAREJO_")
    }
    return {**env, **extra}


def settings_env(settings: Any, **extra: str) -> dict[str, str]:
    """A CLI process's environment on the test's own servers and data directory."""
    return clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
        **extra,
    )


def test_token_prints_a_jwt_and_refuses_an_unknown_role(tmp_path):
    env = clean_env(ECOVAREJO_JWT_SECRET="s" * 40, ECOVAREJO_DATA_DIR=str(tmp_path))
    ok = run("token", "--sub", "ana", "--role", "customer", env=env)
    assert ok.returncode == 0
    assert ok.stdout.count(".") == 2
    bad = run("token", "--sub", "ana", "--role", "root", env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: role must be one of customer, admin, auditor"


def test_seed_loads_the_demo_catalog_once(settings):
    env = clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    first = run("seed", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "seeded 25 products (0 were already there)"
    second = run("seed", env=env)
    assert second.stdout.strip() == "seeded 0 products (25 were already there)"


def test_bad_configuration_is_a_one_line_error(tmp_path):
    env = clean_env(DATABASE_URL="mysql://nope", ECOVAREJO_DATA_DIR=str(tmp_path))
    result = run("seed", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: invalid configuration")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = clean_env(ECOVAREJO_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(
        [*ECOVAREJO, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("ecovarejo serve did not become ready")


def servers_under(data_dir: Path) -> list[int]:
    pids = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("postgres" in cmdline or "redis" in cmdline):
            pids.append(proc.pid)
    return pids


def test_serve_on_the_embedded_default_keeps_data_across_restarts(tmp_path):
    data_dir = (tmp_path / "data").resolve()
    port = free_port()
    env = clean_env(ECOVAREJO_DATA_DIR=str(data_dir))
    serve = start_serve(data_dir, port)
    try:
        assert run("seed", env=env).returncode == 0  # attaches to the running servers
        token = run("token", "--sub", "ana", "--role", "customer", env=env).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        url = f"http://127.0.0.1:{port}/api/v1/stock-items/ECO-0001"
        for _ in range(100):
            response = httpx.get(url, headers=headers)
            if response.status_code == 200:
                break
            time.sleep(0.05)
        assert response.json()["name"] == "Escova de Dentes de Bambu"
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(30)
    assert servers_under(data_dir) == []

    serve = start_serve(data_dir, port)
    try:
        assert httpx.get(url, headers=headers).json()["available"] == 250
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert servers_under(data_dir) == []
