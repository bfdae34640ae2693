"""`python -m api.cli ...`: the lean replay when it applies, else the full CLI."""

from __future__ import annotations

import sys

if sys.argv[1:2] == ["replay"]:
    # The lean path (api/cli/lean.py), before the imports below; it returns only when the
    # command is for the full CLI.
    from api.cli.lean import run_lean

    run_lean(sys.argv[2:])

from api.cli.root import main

main()
