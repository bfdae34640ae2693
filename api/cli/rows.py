"""The rows of `replay --all`, written the one way both paths write them (the lean path,
api/cli/lean.py, and the full CLI, api/cli/audit.py). Light: no typer, no wiring."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any


def write_rows(rows: Iterator[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        import orjson  # a third of json.dumps' time per row, the same JSON

        sys.stdout.flush()
        write_bytes = sys.stdout.buffer.write
        for row in rows:
            write_bytes(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        sys.stdout.buffer.flush()
        return
    write = sys.stdout.write
    for row in rows:
        write(
            f"{row['position']:>8} {row.get('timestamp', '')} {row['type']:<28} "
            f"{row['aggregate_id']} v{row['version']} {row.get('actor', '')}\n"
        )
    sys.stdout.flush()
