"""`ecovarejo users`, `mail outbox` and `keys rotate-signing` through the real CLI."""

from __future__ import annotations

import json
import stat

import pytest

from infrastructure.gateways.mail_outbox import OUTBOX_DIR
from tests.e2e.test_cli import run, settings_env

EMAIL = "operadora@ecovarejo.com.br"


@pytest.fixture
def env(settings):
    return settings_env(settings)


def test_an_invitation_is_printed_and_kept_in_the_outbox_without_the_address(env, settings):
    invited = run(
        "users", "invite", EMAIL, "--role", "auditor", "--scope", "auditor:pii", "--json", env=env
    )
    assert invited.returncode == 0, invited.stderr
    link = json.loads(invited.stdout)["link"]
    assert "/console/set-password?token=" in link

    shown = run("mail", "outbox", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    [mail] = json.loads(shown.stdout)
    assert mail["to"] == EMAIL
    assert mail["kind"] == "staff_invitation"
    assert link in mail["body"]
    folder = settings.data_dir / OUTBOX_DIR
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    [kept] = list(folder.glob("*.json"))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert EMAIL.encode() not in kept.read_bytes()  # the recipient is named by id only

    # Not accepted yet: inviting again sends a new link (with the new role).
    again = run("users", "invite", EMAIL, "--role", "admin", env=env)
    assert again.returncode == 0, again.stderr
    assert len(json.loads(run("mail", "outbox", "--json", env=env).stdout)) == 2

    deactivated = run("users", "deactivate", EMAIL, "--json", env=env)
    assert deactivated.returncode == 0, deactivated.stderr
    assert json.loads(deactivated.stdout)["deactivated"] is True


def test_bad_invitations_are_one_line_errors(env):
    for args in (
        ("users", "invite", EMAIL, "--role", "customer"),
        ("users", "invite", EMAIL, "--role", "admin", "--scope", "root"),
        ("users", "invite", "not-an-email", "--role", "admin"),
    ):
        result = run(*args, env=env)
        assert result.returncode == 2, (args, result.stdout)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_rotate_signing_makes_a_new_current_key(env):
    first = run("keys", "rotate-signing", "--json", env=env)
    assert first.returncode == 0, first.stderr
    second = run("keys", "rotate-signing", "--json", env=env)
    assert json.loads(second.stdout)["current"] != json.loads(first.stdout)["current"]
