"""`replay --all` opens only the log: the same rows as the full CLI, none of the edge's
imports, and everything it does not handle (help, usage errors, unknown types) answered by
the full CLI as before."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from api.cli.lean import parse
from tests.checkout import check_out, fill_cart, register, settled, wait_until
from tests.e2e.test_cli import run, settings_env

EDGE = ("typer", "rich", "fastapi", "httpx", "redis", "uvicorn", "infrastructure.bootstrap")
FULL_CLI = "import sys; from api.cli import main; sys.argv[0] = 'ecovarejo'; main()"


@pytest.fixture
def env(settings):
    return settings_env(settings)


def full_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", FULL_CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("argv", "parsed"),
    [
        (["--all"], (0, None, False)),
        (["--all", "--json", "--since", "7"], (7, None, True)),
        (["--since=3", "--type", "Order.Placed", "--all"], (3, "Order.Placed", False)),
        (["--all", "--since", "-1"], None),  # typer's range check answers
        (["--all", "--as-of", "2026-01-01T00:00:00Z"], None),
        (["--all", "--help"], None),
        (["--all", "--all"], None),
        (["--all", "--since"], None),
        (["00000000-0000-0000-0000-000000000000"], None),  # one aggregate: the full CLI
        ([], None),
    ],
)
def test_only_a_well_formed_replay_all_takes_the_lean_path(argv, parsed):
    assert parse(argv) == parsed


def test_the_lean_stream_is_the_full_clis_stream_byte_for_byte(container, env):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 4)
    for i in range(2):
        check_out(container.services, fill_cart(container.services, {"ECO-1": 1}, f"c{i}"))
    wait_until(lambda: settled(container.services))
    for args in (
        ("--all", "--json"),
        ("--all",),
        ("--all", "--json", "--since", "3"),
        ("--all", "--type", "Order.Placed", "--json"),
    ):
        lean = run("replay", *args, env=env)
        full = full_cli("replay", *args, env=env)
        assert lean.returncode == full.returncode == 0, (lean.stderr, full.stderr)
        assert lean.stdout == full.stdout
        assert lean.stdout.strip()
    rows = [
        json.loads(line) for line in run("replay", "--all", "--json", env=env).stdout.splitlines()
    ]
    assert {"Order.Placed", "Payment.Authorized", "Order.Confirmed"} <= {r["type"] for r in rows}


def test_the_lean_path_imports_nothing_of_the_edge(container, env):
    register(container.services, "ECO-1", 10)
    probe = (
        "import sys\n"
        "from api.cli.lean import run_lean\n"
        "try:\n"
        "    run_lean(['--all', '--json'])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0\n"
        "else:\n"
        "    raise AssertionError('the lean path handed over to the full CLI')\n"
        f"edge = sorted(m for m in sys.modules if m in {EDGE!r})\n"
        "print(edge, file=sys.stderr)\n"
        "sys.exit(3 if edge else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert '"StockItem.Registered"' in result.stdout


def test_what_the_lean_path_does_not_handle_is_answered_by_the_full_cli(container, env):
    unknown = run("replay", "--all", "--type", "Order.Lost", env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown event type 'Order.Lost'")
    negative = run("replay", "--all", "--since", "-1", env=env)
    assert negative.returncode == 2
    assert negative.stderr.startswith("error: Invalid value for '--since'")
    helped = run("replay", "--help", env=env)
    assert helped.returncode == 0
    assert "--all" in helped.stdout


def test_the_lean_path_reads_no_settings_model_and_imports_only_the_aggregates_it_meets(
    container, env
):
    register(container.services, "ECO-1", 10)
    probe = (
        "import sys\n"
        "from api.cli.lean import run_lean\n"
        "try:\n"
        "    run_lean(sys.argv[1:])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0\n"
        "else:\n"
        "    raise AssertionError('the lean path handed over to the full CLI')\n"
        "import json\n"
        "print(json.dumps([m for m in sys.modules if m.startswith(('domain.', 'pydantic'))]),"
        " file=sys.stderr)\n"
    )
    head = container.head_position()
    rows = {"domain.base", "domain.money", "domain.personal_data"}  # what any row may need
    for since in (head, 0):
        result = subprocess.run(
            [sys.executable, "-c", probe, "--all", "--json", "--since", str(since)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        imported = set(json.loads(result.stderr.strip().splitlines()[-1]))
        assert not {m for m in imported if m.startswith("pydantic")}, imported
        if since == head:  # no row: no aggregate
            assert imported == rows
        else:  # a stock item's rows (and its product's), none of the checkout's aggregates
            assert "domain.stock_item" in imported
            assert not imported & {"domain.order", "domain.payment", "domain.cart"}
