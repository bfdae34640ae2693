"""Checks the CLI makes before it acts (issue 26's rough edges): a port already in use is
one line with the way out, a backup never creates directories, an irreversible command asks
first (or takes --yes when no one is at a terminal)."""

from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path

import typer

from api.cli.common import CliError


def check_port_free(host: str, port: int) -> None:
    """Refuse at once, before claiming to serve, when `host:port` is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CliError(
                    f"{host}:{port} is already in use (another `ecovarejo serve`?); "
                    f'use another port: make run ARGS="--port {port + 1}"'
                ) from None
            raise CliError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def check_parent_exists(file: Path) -> None:
    """A file is written only into a directory that exists (a typo must not create one)."""
    parent = file.expanduser().resolve().parent
    if not parent.is_dir():
        raise CliError(f"no directory {parent}: create it first, or choose another path")


def confirm_irreversible(what: str, yes: bool) -> None:
    """Ask on a terminal; elsewhere (scripts, pipes) only `--yes` goes on."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{what} cannot be undone: add --yes to confirm")
    if not typer.confirm(f"{what} cannot be undone. Go on?", default=False):
        raise CliError("cancelled: nothing was changed")
