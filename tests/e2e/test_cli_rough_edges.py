"""The rough edges a new user hit with the CLI, one test each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.main import get_command

from api.cli import _register_modules, app
from infrastructure.settings import Settings
from tests.conftest import JWT_SECRET
from tests.e2e.test_cli import clean_env, run

LONG_RUNNING = {"serve", "worker"}


def leaf_commands(command, path=()):
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield " ".join(path), command
        return
    for name, sub in subcommands.items():
        yield from leaf_commands(sub, (*path, name))


def test_a_usage_error_is_one_line_with_exit_status_2(tmp_path):
    env = clean_env(ECOVAREJO_DATA_DIR=str(tmp_path), ECOVAREJO_JWT_SECRET=JWT_SECRET)
    for args, message in (
        (("replay", "--bogus"), "error: No such option: --bogus; see `"),
        (
            ("token", "--sub", "a", "--role", "admin", "--ttl", "0"),
            "error: Invalid value for '--ttl'",
        ),
        (("audit",), None),  # no sub-command: the help, not an error
    ):
        result = run(*args, env=env)
        if message is None:
            assert result.returncode == 0
            assert "verify" in result.stdout
            continue
        assert result.returncode == 2, result
        assert result.stderr.startswith(message), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "╭" not in result.stderr


def test_replay_all_refuses_as_of_and_version(tmp_path):
    env = clean_env(ECOVAREJO_DATA_DIR=str(tmp_path), ECOVAREJO_JWT_SECRET=JWT_SECRET)
    for extra in (("--version", "3"), ("--as-of", "2026-01-01T00:00:00Z")):
        result = run("replay", "--all", *extra, env=env)
        assert result.returncode == 2
        assert result.stderr.strip() == (
            "error: --as-of and --version replay one aggregate; with --all use --since"
        )


def test_every_command_but_the_servers_takes_json():
    _register_modules()
    commands = dict(leaf_commands(get_command(app)))
    assert {"backup", "restore", "seed", "token", "where", "lgpd erase"} <= set(commands)
    missing = [
        name
        for name, command in commands.items()
        if name not in LONG_RUNNING and "--json" not in {o for p in command.params for o in p.opts}
    ]
    assert not missing, missing


def test_the_default_data_dir_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("ECOVAREJO_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    found = set()
    for folder in ("a", "b/c"):
        (tmp_path / folder).mkdir(parents=True)
        monkeypatch.chdir(tmp_path / folder)
        found.add(Settings().data_dir)
    assert found == {tmp_path / "xdg" / "ecovarejo"}


def test_where_says_which_data_dir_and_servers_are_used(settings):
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    result = run("where", "--json", env=env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["data_dir"] == str(Path(settings.data_dir).resolve())
    assert found["postgresql"].startswith("postgresql://")
    assert found["postgresql"].endswith(settings.database_url.split("?")[0].rsplit("/", 1)[1])
    assert found["redis"] != "embedded"
    assert found["search"] == "postgresql full-text"
    assert ":" not in found["postgresql"].split("//", 1)[1].split("/")[0].replace(":5432", "")


@pytest.mark.parametrize("command", [("seed", "--json")])
def test_json_commands_print_one_json_document(settings, command):
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    result = run(*command, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"added": 25, "existing": 0}


def test_projections_status_shows_whole_names_and_explains_the_sagas_lag(settings, container):
    from infrastructure.read_stores.projection_admin import rebuild

    report = rebuild(container, "stock_items")
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    result = run("projections", "status", env=env)
    assert result.returncode == 0, result.stderr
    assert report.generation in result.stdout  # g<nanoseconds>, not "g17961…"
    assert "…" not in result.stdout
    assert "product_search" in result.stdout
    assert "the saga and effects only the event types they react to" in result.stdout.replace(
        "\n", " "
    )


def test_on_a_terminal_every_command_says_which_data_dir_and_servers_it_uses(settings):
    import os
    import pty
    import subprocess

    from tests.e2e.test_cli import ECOVAREJO

    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*ECOVAREJO, "seed", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
        os.close(follower)
        said = os.read(leader, 4096).decode()
    finally:
        os.close(leader)
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"added": 25, "existing": 0}  # stdout stays JSON
    assert said.startswith(f"ecovarejo: data dir {Path(settings.data_dir).resolve()}; ")
    assert "postgresql postgresql://" in said
