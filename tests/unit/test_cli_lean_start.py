"""The CLI starts lean: `ecovarejo --help`, a usage error or a bad argument answers without
importing the system (the wiring, the settings, the edge, the broker, the drivers). Each of
these imported it all before (2-4 s of CPU a process); the commands import it when they
connect (`api.cli.common.connected`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Run as `python -m api.cli ARGS...` runs, then list every module the process imported.
PROBE = """
import json, os, runpy, sys
sys.argv = ["ecovarejo", *json.loads(os.environ["PROBE_ARGS"])]
try:
    runpy.run_module("api.cli", run_name="__main__", alter_sys=True)
finally:
    with open(os.environ["PROBE_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
"""
# What a process needs only once it wires the system.
HEAVY = (
    "infrastructure.bootstrap",
    "infrastructure.settings",
    "fastapi",
    "starlette",
    "uvicorn",
    "dramatiq",
    "psycopg",
    "psycopg_pool",
    "redis",
    "httpx",
    "eventsourcing",
    "opentelemetry",
)


def started(
    args: list[str], tmp_path: Path, **extra: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = tmp_path / "modules.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("ECOVAREJO_")
    }
    env.update(
        PROBE_ARGS=json.dumps(args), PROBE_OUT=str(out), ECOVAREJO_DATA_DIR=str(tmp_path), **extra
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, set(json.loads(out.read_text()))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_help_lists_the_commands_without_importing_the_system_or_pydantic(tmp_path):
    result, modules = started(["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "replay" in result.stdout
    assert "backup" in result.stdout
    assert "api.cli.root" in modules  # every sub-app was imported, and its commands built
    assert heavy_in(modules) == []
    assert "pydantic" not in modules


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "not-a-uuid"], "error: AGGREGATE_ID must be a UUID, got 'not-a-uuid'"),
        (["replay"], "error: give either AGGREGATE_ID or --all"),
        (["catalog", "import", "{tmp}/missing.csv"], "error: no file {tmp}/missing.csv"),
        (["backup", "{tmp}/no/such/dir/x.backup"], "error: no directory {tmp}/no/such/dir"),
        (["lgpd", "erase", "ana"], "error: erasing the personal data of ana cannot be undone"),
        (["projections", "rebuild"], "error: give a projection NAME or --all"),
        (["audit", "verify", "--bogus"], "error: No such option: --bogus"),
        (["sandbox", "pay", "x"], "error: PAYMENT_ID must be a UUID, got 'x'"),
    ],
)
def test_a_bad_argument_is_one_line_without_importing_the_system(tmp_path, args, message):
    tmp = str(tmp_path)
    result, modules = started([a.replace("{tmp}", tmp) for a in args], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(message.replace("{tmp}", tmp))
    assert len(result.stderr.strip().splitlines()) == 1
    assert "api.cli.root" in modules
    assert heavy_in(modules) == []


def test_a_command_that_connects_does_import_the_system(tmp_path):
    # The probe sees the wiring when it is imported: the checks above can fail.
    result, modules = started(["seed"], tmp_path, DATABASE_URL="mysql://nope")
    assert result.returncode == 2  # the settings refuse it before anything starts
    assert result.stderr.startswith("error: invalid configuration")
    assert "infrastructure.bootstrap" in modules
