"""The `ecovarejo` command line (api/cli/root.py assembles it).

Importing the package is cheap on purpose: `python -m api.cli replay --all` takes the lean
path (api/cli/lean.py) before anything heavy is imported, so `app` and `main` are loaded only
when asked for."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("app", "main", "_register_modules"):
        import importlib

        return getattr(importlib.import_module("api.cli.root"), name)
    raise AttributeError(name)
