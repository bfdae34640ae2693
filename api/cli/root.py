"""The `ecovarejo` command line: the root Typer app and every sub-app on it.

Each module of this package declares its commands (a Typer sub-app, or top-level commands in
a `Commands`) and imports only `api.cli.common`; this module imports them all and installs
them, in the order `ecovarejo --help` lists them. `python -m api.cli` runs `__main__.py`."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import typer

from api.cli import (
    accounts,
    audit,
    catalog,
    embedded,
    finance,
    ops,
    privacy,
    promotions,
    read_side,
    sandbox,
    server,
)
from api.cli.common import CliError

app = typer.Typer(
    help="EcoVarejo: event-sourced back end for sustainable retail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_installed = False


def _register_modules() -> None:
    """Install every command on the root app, once."""
    global _installed
    if _installed:
        return
    _installed = True
    server.commands.install(app)  # serve, worker, token, seed, where
    app.add_typer(audit.audit_app, name="audit")
    app.add_typer(audit.lgpd_app, name="lgpd")
    audit.commands.install(app)  # replay
    app.add_typer(read_side.projections_app, name="projections")
    app.add_typer(read_side.analytics_app, name="analytics")
    embedded.commands.install(app)  # stop
    ops.commands.install(app)  # backup, restore
    app.add_typer(catalog.catalog_app, name="catalog")
    app.add_typer(sandbox.sandbox_app, name="sandbox")  # pay; dispute (finance.py)
    app.add_typer(finance.finance_app, name="finance")
    app.add_typer(promotions.promotions_app, name="promotions")
    privacy.install(app, audit.lgpd_app)  # keys, marketing, lgpd requests
    accounts.install(app, privacy.keys_app)  # users, mail, keys rotate-signing


# Usage errors come from click, which recent typer versions vendor as typer._click.
USAGE: Any = importlib.import_module(
    "typer._click.exceptions" if importlib.util.find_spec("typer._click") else "click.exceptions"
)


# The errors told in one line (exit 2), each named by the module that defines it: one of a
# module not imported cannot have been raised, so `--help` or a bad argument imports none.
ONE_LINE = (("domain.base", "DomainError"), ("infrastructure.configuration", "ConfigurationError"))
INVALID_SETTINGS = ("pydantic_core", "ValidationError")  # pydantic's, as `Settings()` raises it


def _loaded(*names: tuple[str, str]) -> tuple[type[BaseException], ...]:
    """The classes named, of the modules already imported."""
    found = (getattr(sys.modules.get(module), name, None) for module, name in names)
    return tuple(c for c in found if isinstance(c, type) and issubclass(c, BaseException))


def _one_line(error: Exception) -> str | None:
    """The one-line message of an error the user can act on; None for a bug."""
    if isinstance(error, (CliError, *_loaded(*ONE_LINE))):
        return f"error: {error}"
    if isinstance(error, _loaded(INVALID_SETTINGS)):
        first = error.errors()[0]  # type: ignore[attr-defined]
        return f"error: invalid configuration {first['loc']}: {first['msg']}"
    return None


def main() -> None:
    _register_modules()
    try:
        code = app(standalone_mode=False)
    except USAGE.NoArgsIsHelpError as e:
        typer.echo(e.ctx.get_help() if e.ctx else str(e))
        sys.exit(0)
    except USAGE.UsageError as e:  # also unknown options, bad values, missing arguments
        where = f"; see `{e.ctx.command_path} --help`" if e.ctx else ""
        typer.echo(f"error: {e.format_message()}{where}", err=True)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:
        message = _one_line(e)
        if message is None:
            raise
        typer.echo(message, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
